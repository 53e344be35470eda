"""A local HTTP server standing in for the SMS providers: Twilio's Messages API and a generic JSON
gateway. It checks each request the way the provider does (basic auth / the auth header, the form or
JSON fields, an E.164 number) and answers like it, records every request, and can be told to fail."""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

TWILIO_SID = "AC00000000000000000000000000000001"
TWILIO_TOKEN = "twilio-test-auth-token"
TWILIO_FROM = "+15005550006"
GATEWAY_TOKEN = "Bearer gw-test-token"
GATEWAY_SECRET = "gw-webhook-secret"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class FakeProviders(BaseHTTPRequestHandler):
    requests: list = []
    #: how many sends answer 500 before they succeed (an outage at the provider)
    failures = 0
    counter = 0
    lock = threading.Lock()

    def _reply(self, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's naming
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        record = {"path": self.path, "headers": dict(self.headers), "raw": raw}
        FakeProviders.requests.append(record)
        with FakeProviders.lock:
            if FakeProviders.failures > 0:
                FakeProviders.failures -= 1
                return self._reply(500, {"code": 20500, "message": "Internal Server Error"})
            FakeProviders.counter += 1
            number = FakeProviders.counter
        if self.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return self._twilio(raw, record, number)
        if self.path == "/gateway/send":
            return self._gateway(raw, record, number)
        return self._reply(404, {"code": 20404, "message": "Not found"})

    def _twilio(self, raw: bytes, record: dict, number: int):
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._reply(401, {"code": 20003, "message": "Authenticate"})
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._reply(400, {"code": 20001, "message": "Form-encoded body expected"})
        form = {key: values[0] for key, values in parse_qs(raw.decode(), keep_blank_values=True).items()}
        record["form"] = form
        if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return self._reply(400, {"code": 21604, "message": "A 'Body' and a 'From' are required"})
        if not E164.match(form.get("To", "")):
            return self._reply(400, {"code": 21211, "message": f"The 'To' number {form.get('To')} is not valid"})
        return self._reply(201, {"sid": f"SM{number:032x}", "status": "queued", "to": form["To"]})

    def _gateway(self, raw: bytes, record: dict, number: int):
        if self.headers.get("Authorization") != GATEWAY_TOKEN:
            return self._reply(401, {"error": "unauthorized"})
        try:
            data = json.loads(raw)
        except ValueError:
            return self._reply(400, {"error": "JSON expected"})
        record["json"] = data
        if not E164.match(str(data.get("msisdn", ""))) or not data.get("message"):
            return self._reply(422, {"error": "msisdn and message are required"})
        return self._reply(200, {"data": {"id": f"gw-{number}"}, "state": "accepted"})

    def log_message(self, *args):
        pass


@pytest.fixture
def providers(settings):
    """The fake providers, with Medbook's settings pointing at them (Twilio by default)."""
    FakeProviders.requests = []
    FakeProviders.failures = 0
    FakeProviders.counter = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProviders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.SITE_URL = "https://medbook.test"
    settings.SMS_BACKEND = "workflows.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE = base
    settings.SMS_HTTP_URL = f"{base}/gateway/send"
    settings.SMS_HTTP_AUTH_HEADER = "Authorization"
    settings.SMS_HTTP_AUTH_VALUE = GATEWAY_TOKEN
    settings.SMS_HTTP_FROM = "MEDBOOK"
    settings.SMS_HTTP_FIELDS = {
        "to": "msisdn",
        "text": "message",
        "from": "sender",
        "callback": "dlr_url",
        "id": "data.id",
        "status": "state",
        "error": "error_code",
    }
    settings.SMS_HTTP_WEBHOOK_SECRET = GATEWAY_SECRET
    settings.SMS_HTTP_SIGNATURE_HEADER = "X-Gateway-Signature"
    yield FakeProviders
    server.shutdown()
    server.server_close()
