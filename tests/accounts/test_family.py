"""Families (accounts.family): Đào adds her son Minh and her mother Hoa; each is a patient account with
no login, their own profile and medical record, managed by Đào; Minh later gets his own login and keeps
everything."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate

from accounts.family import dependant_add, dependant_convert, dependant_update, dependants_of
from accounts.models import MedicalRecord, User
from accounts.services import NO_EMAIL_DOMAIN, has_real_email
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import AuditLog, OutboxMessage
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def add_minh(holder, **overrides):
    values = {
        "first_name": "Minh",
        "last_name": "Nguyễn",
        "date_of_birth": dt.date(2018, 3, 14),
        "gender": "male",
        "relationship": "child",
        "national_id": "",
    }
    return dependant_add(holder=holder, actor=holder, **{**values, **overrides})


def test_a_dependant_is_a_patient_without_a_login_with_their_own_profile_and_record(patient_dao):
    minh = add_minh(patient_dao)
    assert minh.role == "patient" and minh.guardian == patient_dao and minh.relationship == "child"
    assert minh.is_dependant and minh.notification_recipient == patient_dao
    assert not minh.has_usable_password()
    assert minh.email.endswith("@" + NO_EMAIL_DOMAIN) and not has_real_email(minh.email)
    assert minh.patient_profile.date_of_birth == dt.date(2018, 3, 14) and minh.patient_profile.gender == "male"
    assert MedicalRecord.objects.get(patient__user=minh).patient != patient_dao.patient_profile
    assert authenticate(email=minh.email, password="") is None
    assert list(dependants_of(patient_dao)) == [minh]
    entry = AuditLog.objects.get(action="accounts.dependant.added")
    assert entry.actor == patient_dao and entry.object_id == str(minh.pk)
    assert entry.data == {"holder": patient_dao.pk, "relationship": "child"}  # ids, no demographics


def test_the_details_are_checked_and_a_dependant_cannot_hold_dependants(patient_dao):
    with pytest.raises(InvalidInput) as bad:
        add_minh(patient_dao, first_name=" ", date_of_birth=dt.date.today() + dt.timedelta(days=2), relationship="x")
    assert set(bad.value.field_errors) == {"first_name", "date_of_birth", "relationship"}
    minh = add_minh(patient_dao)
    with pytest.raises(PermissionDenied):
        add_minh(minh)


def test_only_the_holder_or_the_clinic_manages_a_dependant(patient_dao, staff_binh):
    lan = make_user("lan.patient@example.test", "patient", first_name="Lan")
    minh = add_minh(patient_dao)
    with pytest.raises(PermissionDenied):
        dependant_add(
            holder=patient_dao,
            actor=lan,
            first_name="X",
            last_name="Y",
            date_of_birth=dt.date(2000, 1, 1),
            relationship="child",
        )
    with pytest.raises(NotFound):
        dependant_update(
            dependant=minh,
            actor=lan,
            first_name="Minh",
            last_name="Lê",
            date_of_birth=dt.date(2018, 3, 14),
            relationship="child",
        )
    with pytest.raises(NotFound):
        dependant_convert(dependant=minh, actor=lan, email="minh@example.test")
    dependant_update(
        dependant=minh,
        actor=staff_binh,
        first_name="Minh",
        last_name="Lê",
        date_of_birth=dt.date(2018, 3, 15),
        relationship="child",
        national_id=" 079 218 000 123 ",
    )
    minh.refresh_from_db()
    assert minh.last_name == "Lê" and minh.patient_profile.national_id == "079218000123"
    assert AuditLog.objects.filter(action="accounts.dependant.updated", actor=staff_binh).exists()


def test_giving_a_dependant_a_login_keeps_the_account_and_queues_an_invitation(patient_dao):
    minh = add_minh(patient_dao)
    pk = minh.pk
    converted = dependant_convert(dependant=minh, actor=patient_dao, email="Minh.Nguyen@Example.test")
    assert converted.pk == pk and converted.email == "minh.nguyen@example.test"
    assert converted.guardian is None and not converted.is_dependant and converted.relationship == ""
    assert list(dependants_of(patient_dao)) == []
    assert converted.emailaddress_set.get().verified
    entry = AuditLog.objects.get(action="accounts.dependant.converted")
    assert entry.data == {"former_holder": patient_dao.pk, "relationship": "child"}
    invitation = OutboxMessage.objects.get(kind="account.invitation")
    assert invitation.recipient_id == pk
    with pytest.raises(NotFound):  # no longer a dependant: nobody converts them twice
        dependant_convert(dependant=converted, actor=patient_dao, email="other@example.test")


def test_a_login_needs_an_address_nobody_uses(patient_dao):
    minh = add_minh(patient_dao)
    for email in ("not-an-email", f"x@{NO_EMAIL_DOMAIN}", patient_dao.email.upper()):
        with pytest.raises(InvalidInput):
            dependant_convert(dependant=minh, actor=patient_dao, email=email)
    assert User.objects.get(pk=minh.pk).guardian_id == patient_dao.pk


def test_nobody_is_their_own_guardian(patient_dao):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=patient_dao.pk).update(guardian=patient_dao.pk)


def test_an_account_holder_with_family_members_is_not_deactivated_until_they_are_looked_after(
    client, patient_dao, admin_an
):
    from accounts.services import patient_deactivate
    from core.errors import Conflict

    minh = add_minh(patient_dao)
    hoa = add_minh(patient_dao, first_name="Hoa", date_of_birth=dt.date(1950, 1, 2), relationship="parent")
    with pytest.raises(Conflict) as refused:
        patient_deactivate(user=patient_dao, actor=admin_an)
    assert "Minh Nguyễn" in str(refused.value) and "Hoa Nguyễn" in str(refused.value)
    patient_dao.refresh_from_db()
    assert patient_dao.is_active

    # the admin's "active" box says the same, naming them, and changes nothing
    client.force_login(admin_an)
    page = client.get(f"/admin/accounts/user/{patient_dao.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.pop("is_active")
    data.pop("password", None)
    for name in ("groups", "user_permissions"):
        data[name] = [getattr(pk, "pk", pk) for pk in data.get(name, [])]
    response = client.post(f"/admin/accounts/user/{patient_dao.pk}/change/", data)
    assert response.status_code == 200
    assert "Minh Nguyễn" in response.content.decode() and "Give each of them" in response.content.decode()
    patient_dao.refresh_from_db()
    assert patient_dao.is_active

    # once each has a login of their own (or is deactivated), the holder can be deactivated
    dependant_convert(dependant=minh, actor=patient_dao, email="minh@example.test")
    patient_deactivate(user=hoa, actor=admin_an)
    patient_deactivate(user=patient_dao, actor=admin_an)
    patient_dao.refresh_from_db()
    assert not patient_dao.is_active
