"""Roles as Django groups with exactly the permissions each role needs.

The admin shows a model only to users holding one of its permissions, so these lists *are* the
permission matrix of the admin (tests/accounts/test_admin_matrix.py checks it page by page). A
doctor's rows are further narrowed to their own in each ModelAdmin's ``get_queryset``.

Permissions are named ``app_label.codename``; ones whose app is not installed or migrated yet are
skipped and picked up on the next ``migrate`` (``sync_role_groups`` runs after every migrate).
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Role

ROLE_GROUPS: dict[str, str] = {
    Role.ADMIN: "Clinic admins",
    Role.STAFF: "Front desk staff",
    Role.DOCTOR: "Doctors",
    Role.PATIENT: "Patients",
    Role.EDITOR: "Editors",  # Wagtail's own group: page and image permissions come from Wagtail
}

_crud = ("view", "add", "change", "delete")

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Clinic admins are superusers; their group lists nothing so that removing the role removes access.
    Role.ADMIN: [],
    Role.STAFF: [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_patientprofile",
        "accounts.add_patientprofile",
        "accounts.change_patientprofile",
        "booking.view_specialty",
        "booking.view_doctor",
        "booking.view_appointmenttype",
        "booking.view_bookingdefaults",
        # the clinic's places: staff keep facilities, their rooms and the photos of their public pages
        "booking.view_facility",
        "booking.add_facility",
        "booking.change_facility",
        "booking.delete_facility",
        "booking.view_room",
        "booking.add_room",
        "booking.change_room",
        "booking.delete_room",
        "booking.view_facilityphoto",
        "booking.add_facilityphoto",
        "booking.change_facilityphoto",
        "booking.delete_facilityphoto",
        "booking.view_availability",
        "booking.add_availability",
        "booking.change_availability",
        "booking.delete_availability",
        "booking.view_slot",
        "booking.view_blockedtime",
        "booking.add_blockedtime",
        "booking.change_blockedtime",
        "booking.delete_blockedtime",
        # standing weekly hours (published ahead by the worker) and series of visits
        "booking.view_availabilityrule",
        "booking.add_availabilityrule",
        "booking.change_availabilityrule",
        "booking.delete_availabilityrule",
        "booking.view_appointmentseries",
        "booking.view_appointment",
        "booking.add_appointment",
        "booking.change_appointment",
        "booking.view_payment",
        "booking.change_payment",
        "booking.view_refund",
        "booking.view_invoice",
        # the clinic back office (workflows.clinic): answer support tickets, read doctor applications
        "clinic.view_supportticket",
        "clinic.change_supportticket",
        "clinic.view_doctorapplication",
        # clinic operations (workflows.operations): moderate patients' comments, see the waitlists
        "operations.view_visitrating",
        "operations.view_waitlistentry",
        "operations.view_slotoffer",
        # check-in and the waiting room: find today's visits, check in, call, the facilities' screens
        "operations.view_arrival",
        "operations.view_checkin",
        "operations.view_queueboard",
        # the clinical record: that a visit note exists and its state, never its content (clinical.rules)
        "clinical.view_visitnote",
    ],
    Role.DOCTOR: [
        "accounts.view_patientprofile",
        "accounts.view_medicalrecord",
        "booking.view_doctor",
        "booking.change_doctor",
        "booking.view_availability",
        "booking.add_availability",
        "booking.change_availability",
        "booking.delete_availability",
        "booking.view_slot",
        "booking.view_blockedtime",
        "booking.add_blockedtime",
        "booking.change_blockedtime",
        "booking.delete_blockedtime",
        # standing weekly hours (published ahead by the worker) and series of visits
        "booking.view_availabilityrule",
        "booking.add_availabilityrule",
        "booking.change_availabilityrule",
        "booking.delete_availabilityrule",
        "booking.view_appointmentseries",
        "booking.view_appointment",
        "booking.change_appointment",
        # their own subscription invoices (the admin narrows the list to the doctor's)
        "booking.view_invoice",
        # their own subscription, to see what is due and pay it online ("Pay now")
        "clinic.view_doctorsubscription",
        # clinic operations (workflows.operations): their own calendar feed
        "operations.view_calendarfeed",
        "operations.view_visitrating",
        # their own patients in today's waiting room ("call next")
        "operations.view_checkin",
        # visit notes: their patients' (clinical.rules); only the treating doctor writes, signs, amends
        "clinical.view_visitnote",
        "clinical.change_visitnote",
    ],
    Role.PATIENT: [],
    Role.EDITOR: [
        "wagtailadmin.access_admin",
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.choose_document",
    ],
}


def sync_role_groups(*, group_model=None, permission_model=None) -> None:
    """Create the role groups and give each exactly its listed permissions (idempotent).

    Editors keep any extra permissions Wagtail or a clinic admin gave them; the clinical roles are
    reset to the list, so a permission added by hand to "Doctors" cannot leak patient data.
    """
    if group_model is None:
        from django.contrib.auth.models import Group as group_model
        from django.contrib.auth.models import Permission as permission_model

    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name: dict[str, object] = {}
    for perm in permission_model.objects.select_related("content_type").filter(
        content_type__app_label__in={p.split(".")[0] for p in wanted}
    ):
        by_name[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    with transaction.atomic():
        for role, group_name in ROLE_GROUPS.items():
            group, _ = group_model.objects.get_or_create(name=group_name)
            perms = [by_name[p] for p in ROLE_PERMISSIONS[role] if p in by_name]
            if role == Role.EDITOR:
                group.permissions.add(*perms)
            else:
                group.permissions.set(perms)


def sync_role_groups_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # Run once per migrate, after the last app: every app's permissions exist by then.
    from django.apps import apps

    # post_migrate is sent only for apps that have a models module.
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if app_config is None or app_config.label != last.label:
        return
    sync_role_groups()


def role_group_names() -> set[str]:
    return set(ROLE_GROUPS.values())


def sync_user_groups(user) -> None:
    """Put ``user`` in exactly the group of their role (other groups are left alone)."""
    from django.contrib.auth.models import Group

    wanted_name = ROLE_GROUPS.get(user.role)
    role_groups = list(Group.objects.filter(name__in=role_group_names()))
    current = set(user.groups.filter(name__in=role_group_names()).values_list("name", flat=True))
    if current == ({wanted_name} if wanted_name else set()):
        return
    user.groups.remove(*[g for g in role_groups if g.name != wanted_name])
    wanted = [g for g in role_groups if g.name == wanted_name]
    if not wanted and wanted_name:
        wanted = [Group.objects.get_or_create(name=wanted_name)[0]]
    user.groups.add(*wanted)
