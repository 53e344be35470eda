"""Specialty and visit-type names are data in each language, shown in the active one."""

import importlib

from django.apps import apps as global_apps
from django.utils import translation

from booking.models import AppointmentType, Specialty

split = importlib.import_module("booking.migrations.0013_names_in_each_language").split_bilingual_names


def test_a_specialty_is_named_in_the_visitors_language_and_falls_back_to_english(db):
    pediatrics = Specialty.objects.create(name="Pediatrics", name_vi="Nhi khoa", slug="nhi")
    dermatology = Specialty.objects.create(name="Dermatology", slug="derm")
    with translation.override("vi"):
        assert str(pediatrics) == "Nhi khoa" and dermatology.label == "Dermatology"
    with translation.override("en"):
        assert str(pediatrics) == "Pediatrics"


def test_the_migration_splits_old_bilingual_literals_into_two_fields(db):
    Specialty.objects.create(name="Nhi khoa (Pediatrics)", slug="nhi")
    Specialty.objects.create(name="Da liễu", slug="da")
    AppointmentType.objects.create(name="Tái khám (Follow-up visit)")
    split(global_apps, None)
    pediatrics = Specialty.objects.get(slug="nhi")
    assert (pediatrics.name, pediatrics.name_vi) == ("Pediatrics", "Nhi khoa")
    assert Specialty.objects.get(slug="da").name == "Da liễu"  # nothing in brackets: left alone
    assert AppointmentType.objects.values_list("name", "name_vi").get() == ("Follow-up visit", "Tái khám")
