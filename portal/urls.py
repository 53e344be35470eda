from django.urls import path

from portal import account, booking, family, followups, payments, ratings, support, views, waitlist
from portal.urls_visits import urlpatterns as visit_urlpatterns

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("doctors/", views.doctor_directory, name="doctors"),
    path("book/<int:doctor_id>/", booking.book, name="book"),
    path("appointments/", views.appointment_list, name="appointments"),
    path("appointments/<uuid:public_id>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:public_id>/pay/", views.appointment_pay, name="appointment_pay"),
    path("appointments/<uuid:public_id>/voucher/", views.appointment_voucher, name="appointment_voucher"),
    path("appointments/<uuid:public_id>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<uuid:public_id>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<uuid:public_id>/receipt/", views.appointment_receipt, name="appointment_receipt"),
    path(
        "appointments/<uuid:public_id>/invoices/<str:number>.pdf",
        views.appointment_invoice,
        name="appointment_invoice",
    ),
    path(
        "appointments/<uuid:public_id>/prescription.pdf",
        views.appointment_prescription,
        name="appointment_prescription",
    ),
    path("appointments/<uuid:public_id>/intake/", views.appointment_intake, name="appointment_intake"),
    path(
        "appointments/<uuid:public_id>/documents/",
        views.appointment_document_upload,
        name="appointment_document_upload",
    ),
    path(
        "appointments/<uuid:public_id>/documents/<int:document_id>/",
        views.appointment_document,
        name="appointment_document",
    ),
    path("appointments/<uuid:public_id>/calendar.ics", views.appointment_calendar, name="appointment_calendar"),
    path("appointments/<uuid:public_id>/rate/", ratings.appointment_rate, name="appointment_rate"),
    path("waitlist/", waitlist.waitlist, name="waitlist"),
    path("waitlist/join/<int:doctor_id>/", waitlist.waitlist_join_view, name="waitlist_join"),
    path("waitlist/<int:entry_id>/leave/", waitlist.waitlist_leave_view, name="waitlist_leave"),
    path("waitlist/offers/<int:offer_id>/accept/", waitlist.offer_accept, name="waitlist_offer_accept"),
    path("waitlist/offers/<int:offer_id>/decline/", waitlist.offer_decline, name="waitlist_offer_decline"),
    path("follow-ups/", followups.follow_up_list, name="follow_ups"),
    path("follow-ups/<uuid:public_id>/schedule/", followups.follow_up_schedule, name="follow_up_schedule"),
    path("follow-ups/<uuid:public_id>/reject/", followups.follow_up_reject, name="follow_up_reject"),
    path("profile/", account.profile, name="profile"),
    path("profile/medical-record/", account.medical_record, name="medical_record"),
    path("family/", family.family, name="family"),
    path("family/<int:pk>/", family.family_member, name="family_member"),
    path("family/<int:pk>/login/", family.family_member_login, name="family_member_login"),
    path("profile/calendar/new/", account.calendar_feed_new, name="calendar_feed_new"),
    path("profile/calendar/names/", account.calendar_feed_names, name="calendar_feed_names"),
    path("profile/calendar/off/", account.calendar_feed_off, name="calendar_feed_off"),
    path("notifications/", account.notifications, name="notifications"),
    path("notifications/read/", account.notifications_read, name="notifications_read"),
    path("time-zone/", views.set_time_zone, name="set_time_zone"),
    path("pay/sandbox/<str:reference>/", payments.sandbox_checkout, name="sandbox_checkout"),
    path("support/", support.support_list, name="support_list"),
    path("support/new/", support.support_new, name="support_new"),
    path("support/<uuid:public_id>/", support.support_detail, name="support_detail"),
    path("support/<uuid:public_id>/resolve/", support.support_resolve, name="support_resolve"),
    *visit_urlpatterns,
]
