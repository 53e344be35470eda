"""Support tickets: a patient opens one in the portal, staff answer in the admin, the patient is
emailed through the outbox; statuses open → waiting → open/resolved; internal notes stay internal."""

from __future__ import annotations

import pytest
from django.core import mail

from core.errors import NotFound
from core.models import AuditLog, OutboxMessage
from workflows.clinic.models import SupportTicket, TicketMessage, TicketStatus
from workflows.clinic.services import ticket_open, ticket_reply


def open_in_portal(client, patient, subject="Hoá đơn VAT", body="Tôi cần hoá đơn cho lần khám hôm qua."):
    client.force_login(patient)
    response = client.post("/portal/support/new/", {"subject": subject, "body": body})
    assert response.status_code == 302
    return SupportTicket.objects.get(subject=subject)


def test_a_patient_opens_a_ticket_and_follows_it_in_the_portal(client, patient_dao):
    ticket = open_in_portal(client, patient_dao)
    assert ticket.status == TicketStatus.OPEN and ticket.patient == patient_dao
    assert client.get("/portal/support/").content.decode().count("Hoá đơn VAT") == 1
    page = client.get(f"/portal/support/{ticket.public_id}/").content.decode()
    assert "Tôi cần hoá đơn" in page
    assert AuditLog.objects.filter(action="clinic.ticket.opened", actor=patient_dao).exists()


def test_another_patients_ticket_answers_404(client, patient_dao, patient_lan):
    ticket = ticket_open(patient=patient_dao, subject="Private", body="Mine")
    client.force_login(patient_lan)
    assert client.get(f"/portal/support/{ticket.public_id}/").status_code == 404
    assert client.post(f"/portal/support/{ticket.public_id}/", {"body": "hi"}).status_code == 404
    assert client.post(f"/portal/support/{ticket.public_id}/resolve/").status_code == 404
    with pytest.raises(NotFound):
        ticket_reply(ticket=ticket, author=patient_lan, body="let me in")
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_clinic_accounts_are_sent_to_their_workspace_from_the_portal_pages(client, staff_binh):
    client.force_login(staff_binh)
    response = client.get("/portal/support/")
    assert response.status_code == 302 and "/portal/support/" not in response["Location"]


def test_staff_reply_in_the_admin_emails_the_patient_and_waits_for_them(
    client, patient_dao, staff_binh, django_capture_on_commit_callbacks
):
    ticket = ticket_open(patient=patient_dao, subject="Hoá đơn VAT", body="Tôi cần hoá đơn.")
    client.force_login(staff_binh)
    page = client.get(f"/admin/clinic/supportticket/{ticket.pk}/change/").content.decode()
    assert "Tôi cần hoá đơn." in page and "reply_detail" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/clinic/supportticket/{ticket.pk}/reply_detail/",
            {"_form_submitted": "on", "body": "Chúng tôi đã gửi hoá đơn qua email."},
        )
    assert response.status_code == 302
    ticket = SupportTicket.objects.get()
    assert ticket.status == TicketStatus.WAITING
    message = OutboxMessage.objects.get(kind="support.reply")
    assert message.recipient == patient_dao and message.status == "sent"
    (email,) = mail.outbox
    assert email.to == [patient_dao.email]
    assert "Hoá đơn VAT" in email.subject
    assert "Chúng tôi đã gửi hoá đơn qua email." in email.body
    assert f"/portal/support/{ticket.public_id}/" in email.body
    html = email.alternatives[0][0]
    assert "Chúng tôi đã gửi hoá đơn qua email." in html

    # the patient answers in the portal: the ticket is open again for the clinic
    client.force_login(patient_dao)
    portal = client.get(f"/portal/support/{ticket.public_id}/").content.decode()
    assert "Chúng tôi đã gửi hoá đơn qua email." in portal
    client.post(f"/portal/support/{ticket.public_id}/", {"body": "Cảm ơn, tôi đã nhận được."})
    assert SupportTicket.objects.get().status == TicketStatus.OPEN

    client.post(f"/portal/support/{ticket.public_id}/resolve/")
    assert SupportTicket.objects.get().status == TicketStatus.RESOLVED
    assert SupportTicket.objects.get().resolved_at is not None


def test_an_internal_note_is_neither_sent_nor_shown_to_the_patient(client, patient_dao, staff_binh):
    ticket = ticket_open(patient=patient_dao, subject="Refund", body="Where is my refund?")
    ticket_reply(ticket=ticket, author=staff_binh, body="Checked with the bank: arrives Friday.", internal=True)
    ticket = SupportTicket.objects.get()
    assert ticket.status == TicketStatus.OPEN
    assert not OutboxMessage.objects.filter(kind="support.reply").exists()
    client.force_login(patient_dao)
    assert "arrives Friday" not in client.get(f"/portal/support/{ticket.public_id}/").content.decode()
    client.force_login(staff_binh)
    assert "arrives Friday" in client.get(f"/admin/clinic/supportticket/{ticket.pk}/change/").content.decode()


def test_resolving_and_reopening_in_the_admin(client, patient_dao, admin_an):
    ticket = ticket_open(patient=patient_dao, subject="Login", body="I cannot sign in.")
    client.force_login(admin_an)
    base = f"/admin/clinic/supportticket/{ticket.pk}/"
    client.post(base + "resolve_detail/", {"_form_submitted": "on"})
    assert SupportTicket.objects.get().status == TicketStatus.RESOLVED
    assert client.get(base + "resolve_detail/").status_code == 403  # not from resolved
    client.post(base + "reopen_detail/", {"_form_submitted": "on"})
    assert SupportTicket.objects.get().status == TicketStatus.OPEN


def test_a_reply_to_a_resolved_ticket_reopens_it_and_waits(patient_dao, staff_binh):
    ticket = ticket_open(patient=patient_dao, subject="Login", body="I cannot sign in.")
    from workflows.clinic.services import ticket_resolve

    ticket_resolve(ticket=ticket, actor=staff_binh)
    ticket_reply(ticket=ticket, author=staff_binh, body="One more thing: try the reset link.")
    assert SupportTicket.objects.get().status == TicketStatus.WAITING


def test_doctors_do_not_see_tickets(client, doctor_chau, patient_dao):
    ticket = ticket_open(patient=patient_dao, subject="Login", body="I cannot sign in.")
    client.force_login(doctor_chau)
    assert client.get("/admin/clinic/supportticket/").status_code == 403
    assert client.get(f"/admin/clinic/supportticket/{ticket.pk}/change/").status_code == 403


def test_the_ticket_list_runs_the_same_queries_for_more_tickets(client, staff_binh, patient_dao, patient_lan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff_binh)
    ticket_open(patient=patient_dao, subject="One", body="1")
    client.get("/admin/clinic/supportticket/")
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/clinic/supportticket/")
    for n in range(20):
        ticket_open(patient=patient_lan if n % 2 else patient_dao, subject=f"More {n}", body="x")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/clinic/supportticket/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
