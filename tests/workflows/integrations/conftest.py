"""A receiving system on a local HTTP server: it checks each delivery's Medbook-Signature with the
endpoint's secret the way a real receiver should (and answers 400 to a bad one), records what it got,
and can be told to answer 500 a number of times."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows.integrations.models import WebhookEndpoint, WebhookEvent

SECRET = "whsec_receiver_test_secret"
TOLERANCE = 300


def verify(header: str, body: bytes, secret: str = SECRET) -> bool:
    """A receiver's check: t within the tolerance, v1 the HMAC-SHA256 of "<t>.<body>"."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or abs(time.time() - int(parts["t"])) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    failures = 0

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        signed = verify(self.headers.get("Medbook-Signature", ""), body)
        Receiver.received.append({"headers": dict(self.headers), "body": body, "signed": signed})
        if not signed:
            self.send_response(400)
        elif Receiver.failures > 0:
            Receiver.failures -= 1
            self.send_response(500)
        else:
            self.send_response(200)
        answer = b'{"ok": true}' if signed else b'{"error": "bad signature"}'
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

    @classmethod
    def events(cls) -> list[str]:
        return [json.loads(item["body"])["type"] for item in cls.received]


@pytest.fixture
def receiver(settings):
    Receiver.received = []
    Receiver.failures = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the receiver is on 127.0.0.1
    Receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/medbook"
    yield Receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    return WebhookEndpoint.objects.create(
        name="Clinic CRM", url=receiver.url, secret=SECRET, events=[event.value for event in WebhookEvent]
    )


@pytest.fixture(autouse=True)
def _english():
    """Refusals are in the active language: these tests read them in English, whatever an earlier
    test in the process left active."""
    from django.utils import translation

    with translation.override("en"):
        yield
