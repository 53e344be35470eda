"""What SMS providers post to Medbook: delivery status reports and people's replies (STOP / START).

Every request is verified before anything is read from it: Twilio's ``X-Twilio-Signature`` (HMAC-SHA1
of the URL and the sorted form parameters, keyed with the auth token), the generic gateway's hex
HMAC-SHA256 of the body in ``SMS_HTTP_SIGNATURE_HEADER``. A missing or wrong signature is 403, a
provider that is not configured here 404.
"""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from workflows import sms
from workflows.messaging.sms import sms_inbound, sms_status_record

PROVIDERS = ("twilio", "http")


class Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _verified_params(request: HttpRequest, provider: str) -> dict:
    """The request's parameters once its signature holds (else ``Refused``)."""
    if provider == "twilio":
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            raise Refused(HttpResponse("Twilio is not configured.", status=404, content_type="text/plain"))
        params = {key: request.POST.get(key, "") for key in request.POST}
        # the URL Twilio was given: SITE_URL, not what a proxy made of the Host header
        expected = sms.twilio_signature(f"{settings.SITE_URL}{request.get_full_path()}", params, token)
        given = request.headers.get("X-Twilio-Signature", "")
        if not given or not hmac.compare_digest(given, expected):
            raise Refused(HttpResponseForbidden("Bad signature.", content_type="text/plain"))
        return params
    secret = settings.SMS_HTTP_WEBHOOK_SECRET
    if not secret:
        raise Refused(HttpResponse("The SMS gateway is not configured.", status=404, content_type="text/plain"))
    given = request.headers.get(settings.SMS_HTTP_SIGNATURE_HEADER, "").removeprefix("sha256=")
    if not given or not hmac.compare_digest(given, sms.http_json_signature(request.body, secret)):
        raise Refused(HttpResponseForbidden("Bad signature.", content_type="text/plain"))
    try:
        data = json.loads(request.body)
    except ValueError:
        raise Refused(HttpResponseBadRequest("The body is not JSON.", content_type="text/plain")) from None
    if not isinstance(data, dict):
        raise Refused(HttpResponseBadRequest("The body is not a JSON object.", content_type="text/plain"))
    return data


def _text(value) -> str:
    return "" if value is None else str(value)


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest, provider: str) -> HttpResponse:
    """A delivery report. Twilio: MessageSid, MessageStatus, ErrorCode; the gateway: the fields named in
    ``SMS_HTTP_FIELDS`` (id, status, error). ``?m=`` is our message id, put in the callback URL."""
    if provider not in PROVIDERS:
        return HttpResponse(status=404)
    try:
        params = _verified_params(request, provider)
    except Refused as refused:
        return refused.response
    raw_pk = request.GET.get("m", "")
    message_pk = int(raw_pk) if raw_pk.isdigit() else None
    if provider == "twilio":
        provider_id, status, error = (
            params.get("MessageSid", ""),
            params.get("MessageStatus", ""),
            params.get("ErrorCode", ""),
        )
    else:
        fields = settings.SMS_HTTP_FIELDS
        provider_id = _text(sms.dig(params, fields["id"]))
        status = _text(sms.dig(params, fields["status"]))
        error = _text(sms.dig(params, fields["error"]))
    if not status:
        return HttpResponseBadRequest("No status in the report.", content_type="text/plain")
    message = sms_status_record(
        provider=provider, message_pk=message_pk, provider_message_id=provider_id, status=status, error_code=error
    )
    # 200 also for an unknown message: a provider retrying a report we cannot place helps nobody
    return JsonResponse({"recorded": message is not None})


@csrf_exempt
@require_POST
def sms_reply(request: HttpRequest, provider: str) -> HttpResponse:
    """A text someone sent to the clinic's number (Twilio: From, Body; the gateway: the "from" and
    "text" fields of ``SMS_HTTP_FIELDS``). STOP opts the number out, START back in."""
    if provider not in PROVIDERS:
        return HttpResponse(status=404)
    try:
        params = _verified_params(request, provider)
    except Refused as refused:
        return refused.response
    if provider == "twilio":
        phone, text = params.get("From", ""), params.get("Body", "")
    else:
        fields = settings.SMS_HTTP_FIELDS
        phone, text = _text(sms.dig(params, fields["from"])), _text(sms.dig(params, fields["text"]))
    if not phone:
        return HttpResponseBadRequest("No sender in the message.", content_type="text/plain")
    outcome = sms_inbound(phone=phone, text=text)
    if provider == "twilio":
        # an empty TwiML answer: Twilio itself confirms STOP/START to the person
        return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")
    return JsonResponse({"outcome": outcome})
