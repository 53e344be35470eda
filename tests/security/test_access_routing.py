"""Access routing without loops: an account that is not part of an area gets one clear, translated
page from both staff areas; anonymous visitors still go to the login; hand-made export links answer 400."""

from __future__ import annotations

import pytest
from django.test import Client

NOT_PART = "This area is not part of your account"


def follow(client, url, limit=6):
    """Follow redirects by hand, failing on a loop: the chain of (status, url) answers."""
    chain = []
    for _ in range(limit):
        response = client.get(url)
        chain.append((response.status_code, url))
        if response.status_code not in {301, 302}:
            return response, chain
        url = response["Location"]
        assert (302, url) not in chain, chain
    pytest.fail(f"redirect loop: {chain}")


@pytest.mark.parametrize("role", ["patient", "doctor", "staff"])
def test_signed_in_accounts_without_cms_access_get_the_not_part_of_your_account_page(client, personas, role):
    client.force_login(personas[role])
    response, chain = follow(client, "/cms/")
    assert response.status_code == 403, chain
    html = response.content.decode()
    assert NOT_PART in html and "website editor" in html
    assert "You do not have permission" not in html  # one message, in our words


def test_an_editor_opening_the_admin_gets_the_same_page(client, editor_em):
    client.force_login(editor_em)
    response, chain = follow(client, "/admin/")
    assert (
        response.status_code == 403
        and NOT_PART in response.content.decode()
        and "clinic workspace" in response.content.decode()
    )


def test_a_patient_opening_the_admin_gets_it_too(client, patient_dao):
    client.force_login(patient_dao)
    response, _chain = follow(client, "/admin/booking/appointment/")
    assert response.status_code == 403 and NOT_PART in response.content.decode()


def test_the_page_is_translated(client, patient_dao):
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    client.force_login(patient_dao)
    response, _chain = follow(client, "/cms/")
    assert "Tài khoản của bạn không có quyền truy cập khu vực này" in response.content.decode()


def test_anonymous_visitors_still_reach_the_login(db):
    for area in ("/cms/", "/admin/"):
        response, chain = follow(Client(), area)
        assert response.status_code == 200 and chain[-1][1].startswith("/accounts/login/"), chain
        assert f"next={area}" in chain[-1][1].replace("%2F", "/")


def test_editors_and_staff_still_get_in(client, editor_em, staff_binh):
    client.force_login(editor_em)
    assert client.get("/cms/").status_code == 200
    client.force_login(staff_binh)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/booking/appointment/export/?foo=bar",
        "/admin/booking/appointment/export/?id__exact=abc",
        "/admin/booking/payment/export/?zzz=1",
        "/admin/booking/doctor/export/?nope__in=1",
        "/admin/accounts/patientprofile/export/?user__nothing=1",
    ],
)
def test_a_hand_made_export_link_answers_400(url, admin_an):
    client = Client(raise_request_exception=False)
    client.force_login(admin_an)
    for response in (client.get(url), client.post(url, {"format": "0", "resource": "0"})):
        assert response.status_code == 400, (url, response.status_code)
        assert "does not know" in response.content.decode()


def test_a_proper_export_link_still_exports(admin_an, patient_dao):
    from tests.workflows.clinic.test_exports import export

    client = Client()
    client.force_login(admin_an)
    rows = export(client, "/admin/accounts/patientprofile/export/", user__is_active__exact="1")
    assert [row["email"] for row in rows] == [patient_dao.email]
