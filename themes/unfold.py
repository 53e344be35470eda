"""django-unfold configuration: Medbook branding and a sidebar in which each role sees its own sections.

A sidebar entry is shown only to users holding its permission (``accounts.roles`` lists who holds
what), so a doctor never sees the user list and staff never see system settings.
"""

from __future__ import annotations

from collections.abc import Callable

from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


def has_perm(*perms: str) -> Callable:
    def check(request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and any(user.has_perm(p) for p in perms)

    check.__name__ = f"has_perm_{'_'.join(perms)}"
    return check


def is_clinic_admin(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def environment_label(request):
    """The label in the admin's header: test payments (the sandbox gateway) outrank development."""
    from django.conf import settings

    from booking.payments import sandbox_enabled

    if sandbox_enabled():
        # short: it shares the header with the breadcrumbs and the page's buttons
        return [_("Test payments"), "danger"]
    return [_("Development"), "warning"] if settings.DEBUG else None


UNFOLD = {
    "SITE_TITLE": _("Medbook admin"),
    "SITE_HEADER": "Medbook",
    "SITE_SUBHEADER": _("Clinic workspace"),
    "SITE_URL": "/",
    "SITE_SYMBOL": "medical_services",
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("medbook/logo.svg")}],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": True,
    "SHOW_LANGUAGES": True,
    "ENVIRONMENT": "themes.unfold.environment_label",
    "STYLES": [lambda request: static("medbook/admin.css")],
    # the start page per role (workflows.clinic): numbers from workflows.clinic.reports
    "DASHBOARD_CALLBACK": "themes.dashboard.dashboard_callback",
    "COLORS": {
        "primary": {
            "50": "oklch(97.8% .013 196)",
            "100": "oklch(94.6% .035 196)",
            "200": "oklch(90.4% .066 195)",
            "300": "oklch(84.6% .107 193)",
            "400": "oklch(76.8% .13 191)",
            "500": "oklch(68.5% .13 191)",
            "600": "oklch(58.4% .11 193)",
            "700": "oklch(51.1% .093 195)",
            "800": "oklch(43.9% .075 197)",
            "900": "oklch(39.2% .063 199)",
            "950": "oklch(27.7% .046 203)",
        },
    },
    "ACCOUNT": {
        "navigation": [
            {"title": _("Account security"), "link": reverse_lazy("account_email")},
            {"title": _("Two-factor authentication"), "link": reverse_lazy("mfa_index")},
            {"title": _("Change password"), "link": reverse_lazy("account_change_password")},
        ]
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("Workspace"),
                "items": [
                    {"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
                    {
                        "title": _("Messages"),
                        "icon": "forum",
                        "link": reverse_lazy("admin:messaging_conversation_changelist"),
                        "permission": "workflows.messaging.admin.sidebar_permission",
                        "badge": "workflows.messaging.admin.unread_badge",
                        "badge_variant": "primary",
                    },
                    {
                        "title": _("Queue"),
                        "icon": "groups",
                        "link": reverse_lazy("admin:operations_checkin_changelist"),
                        "permission": "workflows.operations.admin.queue_sidebar_permission",
                    },
                    {
                        "title": _("My calendar feed"),
                        "icon": "calendar_month",
                        "link": reverse_lazy("admin:operations_calendarfeed_changelist"),
                        "permission": "workflows.operations.admin.calendar_feed_sidebar_permission",
                    },
                    {
                        "title": _("My feedback"),
                        "icon": "reviews",
                        "link": reverse_lazy("admin:operations_visitrating_changelist"),
                        "permission": "workflows.operations.admin.feedback_sidebar_permission",
                    },
                ],
            },
            {
                "title": _("Clinic"),
                "separator": True,
                "items": [
                    {
                        "title": _("Doctor applications"),
                        "icon": "how_to_reg",
                        "link": reverse_lazy("admin:clinic_doctorapplication_changelist"),
                        "permission": has_perm("clinic.view_doctorapplication"),
                    },
                    {
                        "title": _("Subscriptions"),
                        "icon": "card_membership",
                        "link": reverse_lazy("admin:clinic_doctorsubscription_changelist"),
                        "permission": has_perm("clinic.view_doctorsubscription"),
                    },
                    {
                        "title": _("Subscription plans"),
                        "icon": "sell",
                        "link": reverse_lazy("admin:clinic_subscriptionplan_changelist"),
                        "permission": has_perm("clinic.view_subscriptionplan"),
                    },
                    {
                        "title": _("Ratings"),
                        "icon": "reviews",
                        "link": reverse_lazy("admin:operations_visitrating_changelist"),
                        "permission": "workflows.operations.admin.ratings_sidebar_permission",
                    },
                    {
                        "title": _("Support tickets"),
                        "icon": "support_agent",
                        "link": reverse_lazy("admin:clinic_supportticket_changelist"),
                        "permission": has_perm("clinic.view_supportticket"),
                    },
                    {
                        "title": _("Exports"),
                        "icon": "download",
                        "link": reverse_lazy("admin:booking_exports"),
                        "permission": has_perm("booking.view_appointment", "accounts.view_patientprofile"),
                    },
                    {
                        "title": _("Medical record access"),
                        "icon": "visibility",
                        "link": reverse_lazy("admin:clinic_medicalrecordaccess_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Clinical record access"),
                        "icon": "shield_person",
                        "link": reverse_lazy("admin:clinical_clinicalrecordaccess_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Reminder times"),
                        "icon": "notifications_active",
                        "link": reverse_lazy("admin:clinic_remindersettings_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Clinic contact details"),
                        "icon": "contact_phone",
                        "link": "/cms/settings/cms/clinicsettings/",
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Webhooks"),
                        "icon": "webhook",
                        "link": reverse_lazy("admin:integrations_webhookendpoint_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Webhook deliveries"),
                        "icon": "outbox",
                        "link": reverse_lazy("admin:integrations_webhookdelivery_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Text messages (SMS)"),
                        "icon": "sms",
                        "link": reverse_lazy("admin:messaging_smsmessage_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("SMS opt-out list"),
                        "icon": "phone_disabled",
                        "link": reverse_lazy("admin:messaging_smsoptout_changelist"),
                        "permission": is_clinic_admin,
                    },
                ],
            },
            {
                "title": _("Appointments"),
                "separator": True,
                "items": [
                    {
                        "title": _("Appointments"),
                        "icon": "event_available",
                        "link": reverse_lazy("admin:booking_appointment_changelist"),
                        "permission": has_perm("booking.view_appointment"),
                    },
                    {
                        "title": _("Visit notes"),
                        "icon": "clinical_notes",
                        "link": reverse_lazy("admin:clinical_visitnote_changelist"),
                        "permission": has_perm("clinical.view_visitnote"),
                    },
                    {
                        "title": _("Book for a patient"),
                        "icon": "add_circle",
                        "link": reverse_lazy("admin:booking_appointment_book"),
                        "permission": has_perm("booking.add_appointment"),
                    },
                    {
                        "title": _("Series of visits"),
                        "icon": "event_repeat",
                        "link": reverse_lazy("admin:booking_appointmentseries_changelist"),
                        "permission": has_perm("booking.view_appointmentseries"),
                    },
                    {
                        "title": _("Check in"),
                        "icon": "how_to_reg",
                        "link": reverse_lazy("admin:operations_arrival_changelist"),
                        "permission": has_perm("operations.view_arrival"),
                    },
                    {
                        "title": _("Queue boards"),
                        "icon": "tv",
                        "link": reverse_lazy("admin:operations_queueboard_changelist"),
                        "permission": has_perm("operations.view_queueboard"),
                    },
                    {
                        "title": _("Waitlist"),
                        "icon": "hourglass_top",
                        "link": reverse_lazy("admin:operations_waitlistentry_changelist"),
                        "permission": has_perm("operations.view_waitlistentry"),
                    },
                    {
                        "title": _("Slot offers"),
                        "icon": "event_upcoming",
                        "link": reverse_lazy("admin:operations_slotoffer_changelist"),
                        "permission": has_perm("operations.view_slotoffer"),
                    },
                    {
                        "title": _("Payments"),
                        "icon": "payments",
                        "link": reverse_lazy("admin:booking_payment_changelist"),
                        "permission": has_perm("booking.view_payment"),
                    },
                    {
                        "title": _("Refunds"),
                        "icon": "currency_exchange",
                        "link": reverse_lazy("admin:booking_refund_changelist"),
                        "permission": has_perm("booking.view_refund"),
                    },
                    {
                        "title": _("Invoices"),
                        "icon": "receipt_long",
                        "link": reverse_lazy("admin:booking_invoice_changelist"),
                        "permission": has_perm("booking.view_invoice"),
                    },
                    {
                        "title": _("Vouchers"),
                        "icon": "sell",
                        "link": reverse_lazy("admin:booking_voucher_changelist"),
                        "permission": is_clinic_admin,
                    },
                ],
            },
            {
                "title": _("Scheduling"),
                "separator": True,
                "items": [
                    {
                        "title": _("Doctors"),
                        "icon": "stethoscope",
                        "link": reverse_lazy("admin:booking_doctor_changelist"),
                        "permission": has_perm("booking.view_doctor"),
                    },
                    {
                        "title": _("Availability"),
                        "icon": "event_available",
                        "link": reverse_lazy("admin:booking_availability_changelist"),
                        "permission": has_perm("booking.view_availability"),
                    },
                    {
                        "title": _("Week view"),
                        "icon": "calendar_view_week",
                        "link": reverse_lazy("admin:booking_availability_week"),
                        "permission": has_perm("booking.view_availability"),
                    },
                    {
                        "title": _("Weekly hours"),
                        "icon": "event_repeat",
                        "link": reverse_lazy("admin:booking_availabilityrule_changelist"),
                        "permission": has_perm("booking.view_availabilityrule"),
                    },
                    {
                        "title": _("Blocked time"),
                        "icon": "event_busy",
                        "link": reverse_lazy("admin:booking_blockedtime_changelist"),
                        "permission": has_perm("booking.view_blockedtime"),
                    },
                    {
                        "title": _("Slots"),
                        "icon": "schedule",
                        "link": reverse_lazy("admin:booking_slot_changelist"),
                        "permission": has_perm("booking.view_slot"),
                    },
                    {
                        "title": _("Facilities"),
                        "icon": "location_city",
                        "link": reverse_lazy("admin:booking_facility_changelist"),
                        "permission": has_perm("booking.view_facility"),
                    },
                    {
                        "title": _("Rooms"),
                        "icon": "meeting_room",
                        "link": reverse_lazy("admin:booking_room_changelist"),
                        "permission": has_perm("booking.view_room"),
                    },
                    {
                        "title": _("Specialties"),
                        "icon": "medical_information",
                        "link": reverse_lazy("admin:booking_specialty_changelist"),
                        "permission": has_perm("booking.view_specialty"),
                    },
                    {
                        "title": _("Appointment types"),
                        "icon": "category",
                        "link": reverse_lazy("admin:booking_appointmenttype_changelist"),
                        "permission": has_perm("booking.view_appointmenttype"),
                    },
                    {
                        "title": _("Booking policy"),
                        "icon": "rule",
                        "link": reverse_lazy("admin:booking_bookingdefaults_changelist"),
                        "permission": has_perm("booking.view_bookingdefaults"),
                    },
                ],
            },
            {
                "title": _("People"),
                "separator": True,
                "items": [
                    {
                        "title": _("Users"),
                        "icon": "manage_accounts",
                        "link": reverse_lazy("admin:accounts_user_changelist"),
                        "permission": has_perm("accounts.view_user"),
                    },
                    {
                        "title": _("Patients"),
                        "icon": "personal_injury",
                        "link": reverse_lazy("admin:accounts_patientprofile_changelist"),
                        "permission": has_perm("accounts.view_patientprofile"),
                    },
                ],
            },
            {
                "title": _("Website"),
                "separator": True,
                "items": [
                    {
                        "title": _("Public site editor"),
                        "icon": "web",
                        "link": reverse_lazy("wagtailadmin_home"),
                        "permission": has_perm("wagtailadmin.access_admin"),
                    },
                ],
            },
            {
                "title": _("System"),
                "separator": True,
                "collapsible": True,
                "items": [
                    {
                        "title": _("Roles and permissions"),
                        "icon": "admin_panel_settings",
                        "link": reverse_lazy("admin:auth_group_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Email addresses"),
                        "icon": "mail",
                        "link": reverse_lazy("admin:account_emailaddress_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Two-factor devices"),
                        "icon": "phonelink_lock",
                        "link": reverse_lazy("admin:mfa_authenticator_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Audit log"),
                        "icon": "policy",
                        "link": reverse_lazy("admin:core_auditlog_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("State transitions"),
                        "icon": "timeline",
                        "link": reverse_lazy("admin:django_fsm_log_statelog_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Scheduled tasks"),
                        "icon": "schedule",
                        "link": reverse_lazy("admin:django_q_schedule_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Failed tasks"),
                        "icon": "error",
                        "link": reverse_lazy("admin:django_q_failure_changelist"),
                        "permission": is_clinic_admin,
                    },
                    {
                        "title": _("Successful tasks"),
                        "icon": "task_alt",
                        "link": reverse_lazy("admin:django_q_success_changelist"),
                        "permission": is_clinic_admin,
                    },
                ],
            },
        ],
    },
}
