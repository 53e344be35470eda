"""The medical record and messages are encrypted at rest, also the rows written before encryption (the
data migrations' function, run here on plain rows)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection

from accounts.models import MedicalRecord
from core.crypto import decrypt_columns, encrypt_plain_columns

pytestmark = pytest.mark.django_db
# what the migration's RunPython reads from its schema editor (SQLite's cannot open inside a test's
# transaction)
EDITOR = SimpleNamespace(connection=connection)


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test-only names)
        return cursor.fetchone()[0]


def set_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def test_the_medical_record_is_not_readable_in_the_database(patient_dao):
    record = patient_dao.patient_profile.medical_record
    record.allergies = "Penicillin"
    record.medications = "Salbutamol"
    record.save()
    assert "Penicillin" not in raw("accounts_medicalrecord", "allergies", record.pk)
    assert "Salbutamol" not in raw("accounts_medicalrecord", "medications", record.pk)
    assert MedicalRecord.objects.get(pk=record.pk).allergies == "Penicillin"
    assert raw("accounts_medicalrecord", "chronic_conditions", record.pk) == ""  # empty stays empty


def test_the_migration_encrypts_records_written_in_plain_text_once_and_migrates_back(patient_dao):
    record = patient_dao.patient_profile.medical_record
    set_raw("accounts_medicalrecord", "allergies", record.pk, "Peanuts")  # as before the migration
    columns = ["allergies", "chronic_conditions", "medications"]
    encrypt_plain_columns("accounts_medicalrecord", columns)(None, EDITOR)
    token = raw("accounts_medicalrecord", "allergies", record.pk)
    assert token.startswith("gAAAAA") and "Peanuts" not in token
    assert MedicalRecord.objects.get(pk=record.pk).allergies == "Peanuts"
    encrypt_plain_columns("accounts_medicalrecord", columns)(None, EDITOR)  # a second run: no change
    assert raw("accounts_medicalrecord", "allergies", record.pk) == token
    decrypt_columns("accounts_medicalrecord", columns)(None, EDITOR)
    assert raw("accounts_medicalrecord", "allergies", record.pk) == "Peanuts"
