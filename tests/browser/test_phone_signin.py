"""A patient signs up in the browser with only a mobile number, types the code the test SMS backend
received, signs out, and signs in again with a code texted to the same number."""

from __future__ import annotations

import re

import pytest

from accounts.models import PatientProfile
from workflows import sms

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "workflows.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def visitor_page(chromium, live_server, request):
    from tests.browser.conftest import ARTIFACTS

    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def last_code(outbox, to: str) -> str:
    message = outbox[-1]
    assert message.to == to
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def test_a_patient_signs_up_and_signs_in_with_a_mobile_number_and_texted_codes(visitor_page, sms_outbox):
    page = visitor_page
    page.goto("/accounts/signup/")
    page.get_by_label("First name").fill("Lan")
    page.get_by_label("Last name").fill("Hoàng")
    page.get_by_label("Mobile phone").fill("0901 234 567")
    page.get_by_label("Password").fill("a-long-pass-phrase-7")
    page.get_by_role("button", name="Sign Up").click()

    page.wait_for_url(re.compile(r"/accounts/phone/verify/$"))
    assert "+84901234567" in page.locator("main").inner_text()
    code_input = page.locator("input[name=code]")
    assert code_input.get_attribute("inputmode") == "numeric"
    code = last_code(sms_outbox, "+84901234567")
    code_input.fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    assert "Incorrect code." in page.locator("main").inner_text()
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    assert PatientProfile.objects.get(phone="+84901234567").phone_verified

    # sign out, then in again with a code texted to the number
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Send me a sign-in code").click()
    page.wait_for_url(re.compile(r"/accounts/login/code/$"))
    assert page.locator("input[name=email]").count() == 0
    page.get_by_label("Mobile phone").fill("+84 90 123 4567")
    page.get_by_role("button", name="Request Code").click()
    page.wait_for_url(re.compile(r"/accounts/login/code/confirm/$"))
    assert len(sms_outbox) == 2
    page.locator("input[name=code]").fill(last_code(sms_outbox, "+84901234567"))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/portal/$"))


def test_the_phone_pages_speak_vietnamese(visitor_page, sms_outbox, live_server):
    page = visitor_page
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": live_server.url}])
    page.goto("/accounts/signup/")
    page.get_by_label("Số di động").fill("0901 234 568")
    page.locator("input[name=first_name]").fill("Minh")
    page.locator("input[name=last_name]").fill("Lê")
    page.locator("input[name=password1]").fill("a-long-pass-phrase-7")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/accounts/phone/verify/$"))
    assert "mã của bạn là" in sms_outbox[-1].text
    assert "Chúng tôi đã gửi mã đến" in page.locator("main").inner_text()
