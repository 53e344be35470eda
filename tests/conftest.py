"""Shared fixtures: named personas for each role (STYLE.md: tests use people, not ``user1``)."""

from __future__ import annotations

import pytest

# the black-box suites' fixtures: ``stack``, and the autouse reset of the API's rate-limit counters
# (a fixture only runs where it is visible: imported here, for every test directory)
from tests.blackbox.plugin import _fresh_rate_limits, mark_blackbox, stack  # noqa: F401
from tests.factories import make_user


def pytest_collection_modifyitems(config, items):
    mark_blackbox(items)


def pytest_configure(config):
    # Translations are compiled at install time; do it here too so a bare `pytest` sees them.
    from django.conf import settings

    from core.translations import compile_catalogues

    compile_catalogues(settings.LOCALE_PATHS)
    # Build the URLconf (and the API schemas it imports) before any test freezes time: pydantic
    # cannot build schemas while freezegun replaces ``date``.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def admin_an(db):
    return make_user("an.admin@clinic.test", "admin", first_name="An")


@pytest.fixture
def staff_binh(db):
    return make_user("binh.staff@clinic.test", "staff", first_name="Bình")


@pytest.fixture
def doctor_chau(db):
    return make_user("chau.doctor@clinic.test", "doctor", first_name="Châu")


@pytest.fixture
def patient_dao(db):
    return make_user("dao.patient@example.test", "patient", first_name="Đào")


@pytest.fixture
def editor_em(db):
    return make_user("em.editor@clinic.test", "editor", first_name="Em")


@pytest.fixture
def personas(admin_an, staff_binh, doctor_chau, patient_dao, editor_em):
    return {"admin": admin_an, "staff": staff_binh, "doctor": doctor_chau, "patient": patient_dao, "editor": editor_em}


@pytest.fixture(autouse=True)
def _default_language_and_zone():
    """A request for a Vietnamese user activates Vietnamese in this thread (the middleware sets the
    user's language and zone per request); the next test starts from the defaults again."""
    from django.utils import timezone, translation

    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# a local stand-in for api.stripe.com, used by the payment and concurrency suites
from tests.booking.appointments.stripe_stub import stripe_server  # noqa: E402,F401
