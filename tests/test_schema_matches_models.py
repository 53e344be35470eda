"""The migrated database holds every constraint and index the models declare: a migration that drops one
by accident (PostgreSQL drops every plain b-tree index on a column when a foreign key loses
``db_index``, the partial unique index guarding one active appointment per slot included) fails here,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

OWN_APPS = {
    "accounts",
    "core",
    "booking",
    "clinic",
    "clinical",
    "operations",
    "messaging",
    "integrations",
    "cms",
    "workflows",
}


def declared():
    for model in apps.get_models():
        if model._meta.app_label not in OWN_APPS or not model._meta.managed or model._meta.proxy:
            continue
        for item in [*model._meta.constraints, *model._meta.indexes]:
            yield model, item.name


def test_every_declared_constraint_and_index_is_in_the_database():
    names = list(declared())
    assert any(name == "appointment_one_active_per_slot" for _model, name in names)  # the list is the real one
    missing = []
    with connection.cursor() as cursor:
        present = {}
        for model, name in names:
            table = model._meta.db_table
            if table not in present:
                present[table] = set(connection.introspection.get_constraints(cursor, table))
            if name not in present[table]:
                missing.append(f"{table}.{name}")
    assert not missing, f"declared by the models, missing from the migrated database: {missing}"


def test_an_appointment_column_led_by_a_meta_index_has_no_index_of_its_own():
    """booking 0022: the doctor, patient and status are each the first column of a Meta index; the
    single-column indexes their field options made are gone (every booking wrote them)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "booking_appointment")
    single = {
        name: info["columns"]
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1
    }
    assert not [name for name, columns in single.items() if columns[0] in {"doctor_id", "patient_id", "status"}]
    # the foreign keys themselves stay
    foreign = {tuple(info["columns"]) for info in constraints.values() if info["foreign_key"]}
    assert {("doctor_id",), ("patient_id",)} <= foreign
