"""Portal messaging pages and the polling endpoint: participants only, escaping, no-JS and JSON sends."""

import pytest

from core.models import AuditLog
from workflows.messaging.models import Conversation, Message
from workflows.messaging.services import message_send

SCRIPT = "<script>alert('x')</script> & <b>bold</b>"


def thread_url(conversation):
    return f"/portal/messages/{conversation.pk}/"


def poll_url(conversation, after=0, read=False):
    return f"/portal/messages/{conversation.pk}/poll/?after={after}" + ("&read=1" if read else "")


def test_the_list_shows_conversations_with_unread_counts(client, visit_chat, support_chat, patient_dao, doctor_binh):
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="Please bring your results.")
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="And your glasses.")
    client.force_login(patient_dao)
    html = client.get("/portal/messages/").content.decode()
    assert thread_url(visit_chat) in html and thread_url(support_chat) in html
    assert 'aria-label="2 unread"' in html
    assert 'id="unread-total"' in html
    assert "Write to the clinic" not in html  # she already has a support conversation


def test_a_patient_starts_a_conversation_about_her_visit_and_with_the_clinic(client, visit, patient_dao):
    client.force_login(patient_dao)
    html = client.get("/portal/messages/").content.decode()
    assert str(visit.public_id) in html and "Write to the clinic" in html
    response = client.post("/portal/messages/start/", {"appointment": str(visit.public_id)})
    conversation = Conversation.objects.get(appointment=visit)
    assert response.status_code == 302 and response["Location"] == thread_url(conversation)
    response = client.post("/portal/messages/start/", {"support": "1"})
    assert response["Location"] == thread_url(Conversation.objects.get(kind="support", patient=patient_dao))


def test_starting_a_conversation_about_someone_elses_visit_is_404(client, visit, patient_lan):
    client.force_login(patient_lan)
    assert client.post("/portal/messages/start/", {"appointment": str(visit.public_id)}).status_code == 404
    assert client.post("/portal/messages/start/", {"appointment": "not-a-uuid"}).status_code == 404
    assert not Conversation.objects.filter(appointment=visit).exists()


def test_sending_without_javascript_posts_and_redirects(client, visit_chat, patient_dao):
    client.force_login(patient_dao)
    response = client.post(thread_url(visit_chat), {"body": "Can I come earlier?"})
    assert response.status_code == 302 and response["Location"] == thread_url(visit_chat)
    assert Message.objects.get().body == "Can I come earlier?"
    assert "Can I come earlier?" in client.get(thread_url(visit_chat)).content.decode()


def test_sending_with_javascript_gets_json(client, visit_chat, patient_dao):
    client.force_login(patient_dao)
    response = client.post(thread_url(visit_chat), {"body": "Hello"}, headers={"Accept": "application/json"})
    assert response.status_code == 201
    message = response.json()["message"]
    assert message["body"] == "Hello" and message["mine"] is True and message["id"] == Message.objects.get().pk


def test_a_too_long_message_is_refused_with_a_clear_message(client, visit_chat, patient_dao):
    client.force_login(patient_dao)
    response = client.post(thread_url(visit_chat), {"body": "x" * 2001})
    assert response.status_code == 400
    html = response.content.decode()
    assert "A message can be at most 2000 characters; this one has 2001." in html
    assert "x" * 2001 in html  # the draft is kept
    json_response = client.post(thread_url(visit_chat), {"body": "x" * 2001}, headers={"Accept": "application/json"})
    assert json_response.status_code == 400 and json_response.json()["error"]["code"] == "message_too_long"
    assert not Message.objects.exists()


def test_message_text_is_escaped_everywhere(client, visit_chat, patient_dao, doctor_binh):
    message_send(conversation=visit_chat, sender=doctor_binh.user, body=SCRIPT)
    client.force_login(patient_dao)
    html = client.get(thread_url(visit_chat)).content.decode()
    assert SCRIPT not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    client.force_login(doctor_binh.user)
    admin_html = client.get(f"/admin/messaging/conversation/{visit_chat.pk}/change/").content.decode()
    assert SCRIPT not in admin_html and "&lt;script&gt;" in admin_html
    # JSON carries plain text; messages.js inserts it with textContent
    assert client.get(poll_url(visit_chat)).json()["messages"][0]["body"] == SCRIPT


def test_polling_returns_only_newer_messages(client, visit_chat, patient_dao, doctor_binh):
    first = message_send(conversation=visit_chat, sender=doctor_binh.user, body="first")
    second = message_send(conversation=visit_chat, sender=doctor_binh.user, body="second")
    client.force_login(patient_dao)
    assert [m["id"] for m in client.get(poll_url(visit_chat)).json()["messages"]] == [first.pk, second.pk]
    body = client.get(poll_url(visit_chat, after=first.pk)).json()
    assert [m["body"] for m in body["messages"]] == ["second"] and body["lastId"] == second.pk
    empty = client.get(poll_url(visit_chat, after=second.pk)).json()
    assert empty["messages"] == [] and empty["lastId"] == second.pk
    assert client.get(f"/portal/messages/{visit_chat.pk}/poll/?after=abc").status_code == 400


def test_polling_marks_read_only_when_the_page_is_visible(client, visit_chat, patient_dao, doctor_binh):
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="hello")
    client.force_login(patient_dao)
    assert client.get(poll_url(visit_chat)).json()["unread"] == 1
    client.get(poll_url(visit_chat, read=True))
    assert client.get(poll_url(visit_chat)).json()["unreadTotal"] == 0


@pytest.mark.parametrize("who", ["another_doctor", "another_patient", "staff"])
def test_outsiders_get_404_on_the_thread_and_the_poll(client, visit_chat, people, who):
    message_send(conversation=visit_chat, sender=visit_chat.patient, body="private")
    client.force_login(people[who])
    assert client.get(thread_url(visit_chat)).status_code == 404
    assert client.get(poll_url(visit_chat)).status_code == 404
    assert client.post(thread_url(visit_chat), {"body": "hi"}).status_code == 404
    assert Message.objects.count() == 1


def test_a_missing_conversation_looks_like_someone_elses(client, patient_lan):
    client.force_login(patient_lan)
    assert client.get("/portal/messages/999999/").status_code == 404
    assert client.get("/portal/messages/999999/poll/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, visit_chat):
    for url in ("/portal/messages/", thread_url(visit_chat), poll_url(visit_chat)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_doctors_and_staff_are_sent_to_the_admin(client, visit_chat, support_chat, doctor_binh, staff_binh):
    client.force_login(doctor_binh.user)
    assert client.get("/portal/messages/")["Location"] == "/admin/messaging/conversation/"
    assert client.get(thread_url(visit_chat))["Location"] == f"/admin/messaging/conversation/{visit_chat.pk}/change/"
    client.force_login(staff_binh)
    assert client.get(thread_url(support_chat)).status_code == 302


def test_an_admin_polling_a_visit_conversation_is_audited(client, visit_chat, admin_an, doctor_binh):
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="note")
    client.force_login(admin_an)
    assert len(client.get(poll_url(visit_chat)).json()["messages"]) == 1
    entry = AuditLog.objects.get(action="messaging.conversation.viewed_by_admin")
    assert entry.actor == admin_an and entry.data["through"] == "poll"
    client.get(poll_url(visit_chat, after=10**9))  # nothing new shown: nothing to record
    assert AuditLog.objects.filter(action="messaging.conversation.viewed_by_admin").count() == 1
