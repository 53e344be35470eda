"""Messages in the admin: each role's scope, the thread with a reply form, audited admin reads, the badge."""

import re

import pytest

from core.models import AuditLog
from tests.booking.video.helpers import confirmed_visit
from workflows.messaging.models import Message
from workflows.messaging.services import conversation_open_for_appointment, conversation_open_support, message_send

LIST = "/admin/messaging/conversation/"


def change_url(conversation):
    return f"/admin/messaging/conversation/{conversation.pk}/change/"


@pytest.fixture
def giang_chat(doctor_giang, patient_lan):
    visit = confirmed_visit(doctor_giang, patient_lan)
    return conversation_open_for_appointment(appointment=visit, actor=patient_lan)


def test_each_role_lists_only_its_conversations(client, visit_chat, support_chat, giang_chat, people):
    expected = {
        "their_doctor": {visit_chat},
        "another_doctor": {giang_chat},
        "staff": {support_chat},
        "admin": {visit_chat, support_chat, giang_chat},
    }
    everything = {visit_chat, support_chat, giang_chat}
    for who, visible in expected.items():
        client.force_login(people[who])
        html = client.get(LIST).content.decode()
        for conversation in everything:
            assert (change_url(conversation) in html) == (conversation in visible), (who, conversation)


@pytest.mark.parametrize("who", ["patient", "another_patient"])
def test_patients_have_no_admin(client, visit_chat, people, who):
    client.force_login(people[who])
    assert client.get(LIST).status_code == 302
    assert client.get(change_url(visit_chat)).status_code == 302


@pytest.mark.parametrize(
    ("who", "chat"), [("another_doctor", "visit"), ("staff", "visit"), ("their_doctor", "support")]
)
def test_other_peoples_threads_are_404(client, visit_chat, support_chat, people, who, chat):
    client.force_login(people[who])
    conversation = visit_chat if chat == "visit" else support_chat
    assert client.get(change_url(conversation)).status_code == 404
    assert client.post(change_url(conversation), {"body": "hi"}).status_code == 404
    assert not Message.objects.exists()


def test_the_doctor_reads_and_answers_in_the_admin(client, visit_chat, patient_dao, doctor_binh):
    message_send(conversation=visit_chat, sender=patient_dao, body="Should I fast?")
    client.force_login(doctor_binh.user)
    html = client.get(change_url(visit_chat)).content.decode()
    assert "Should I fast?" in html and 'id="reply-form"' in html
    assert f"/portal/visits/{visit_chat.appointment.public_id}/video/" in html  # the way to the video page
    response = client.post(change_url(visit_chat), {"body": "No need."})
    assert response.status_code == 302
    reply = Message.objects.latest("id")
    assert reply.body == "No need." and reply.sender == doctor_binh.user and reply.sender_side == "doctor"
    assert not AuditLog.objects.filter(action="messaging.conversation.viewed_by_admin").exists()


def test_staff_answer_support(client, support_chat, patient_dao, staff_binh):
    message_send(conversation=support_chat, sender=patient_dao, body="Do you have parking?")
    client.force_login(staff_binh)
    assert "Do you have parking?" in client.get(change_url(support_chat)).content.decode()
    client.post(change_url(support_chat), {"body": "Yes, behind the building."})
    assert Message.objects.latest("id").sender_side == "clinic"


def test_an_admin_reading_a_visit_conversation_is_audited_and_cannot_write(client, visit_chat, admin_an, patient_dao):
    message_send(conversation=visit_chat, sender=patient_dao, body="private")
    client.force_login(admin_an)
    html = client.get(change_url(visit_chat)).content.decode()
    assert "private" in html and 'id="reply-form"' not in html
    entry = AuditLog.objects.get(action="messaging.conversation.viewed_by_admin")
    assert entry.actor == admin_an and entry.object_id == str(visit_chat.pk) and entry.data["through"] == "admin"
    assert client.post(change_url(visit_chat), {"body": "hi"}).status_code == 404
    assert Message.objects.count() == 1


def test_a_reply_over_the_limit_shows_the_error(client, visit_chat, doctor_binh):
    client.force_login(doctor_binh.user)
    response = client.post(change_url(visit_chat), {"body": "x" * 2001})
    assert response.status_code == 200
    assert "2000" in response.content.decode()
    assert not Message.objects.exists()


def test_doctors_start_a_conversation_about_their_visit(client, visit, doctor_binh):
    client.force_login(doctor_binh.user)
    html = client.get("/admin/messaging/conversation/start/").content.decode()
    assert f'value="{visit.pk}"' in html
    response = client.post("/admin/messaging/conversation/start/", {"appointment": visit.pk})
    assert response.status_code == 302 and visit.conversations.get().patient == visit.patient


def test_a_doctor_cannot_start_one_about_another_doctors_visit(client, visit, doctor_giang):
    client.force_login(doctor_giang.user)
    assert client.post("/admin/messaging/conversation/start/", {"appointment": visit.pk}).status_code == 404
    assert not visit.conversations.exists()


def test_staff_write_to_a_patient_first(client, staff_binh, patient_dao):
    client.force_login(staff_binh)
    response = client.post("/admin/messaging/conversation/start/", {"patient_email": patient_dao.email})
    assert response.status_code == 302
    assert patient_dao.conversations.get().kind == "support"


def test_the_sidebar_shows_messages_with_the_unread_count(client, visit_chat, patient_dao, doctor_binh, staff_binh):
    message_send(conversation=visit_chat, sender=patient_dao, body="one")
    message_send(conversation=visit_chat, sender=patient_dao, body="two")
    client.force_login(doctor_binh.user)
    html = client.get("/admin/").content.decode()
    assert f'href="{LIST}"' in html
    assert _badge(html) == "2"
    conversation_open_support(patient=patient_dao, actor=patient_dao)
    client.force_login(staff_binh)
    assert _badge(client.get("/admin/").content.decode()) == ""  # no unread message: no badge at all


def _badge(html: str) -> str:
    """The text of the badge inside the sidebar's "Messages" link."""
    link = html[html.index(f'href="{LIST}"') :]
    link = link[: link.index("</a>")]
    found = re.search(r'<span class="font-semibold[^"]*">\s*([^<]*?)\s*</span>', link)
    return found.group(1) if found else ""


def test_the_admin_thread_polls_and_sends_through_the_admin_not_the_portal(
    client, visit_chat, patient_dao, doctor_binh
):
    message_send(conversation=visit_chat, sender=patient_dao, body="Is it tomorrow?")
    client.force_login(doctor_binh.user)
    page = client.get(f"/admin/messaging/conversation/{visit_chat.pk}/change/").content.decode()
    poll_url = re.search(r'data-poll-url="([^"]+)"', page)[1]
    send_url = re.search(r'data-send-url="([^"]+)"', page)[1]
    assert poll_url.startswith("/admin/") and send_url.startswith("/admin/")
    sent = client.post(send_url, {"body": "Yes, at nine."}, HTTP_ACCEPT="application/json")
    assert sent.status_code == 201 and sent.json()["message"]["mine"] is True
    polled = client.get(poll_url, {"after": 0}).json()
    assert [m["body"] for m in polled["messages"]] == ["Is it tomorrow?", "Yes, at nine."]
    assert client.post(poll_url).status_code == 405 and client.get(send_url).status_code == 405
