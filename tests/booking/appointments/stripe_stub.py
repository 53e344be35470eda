"""A local HTTP server standing in for api.stripe.com: it records every request (path, headers, form),
answers checkout sessions and refunds like Stripe, and can be told to fail refunds or answer slowly."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

WEBHOOK_SECRET = "whsec_test_medbook"


class FakeStripe(BaseHTTPRequestHandler):
    requests: list = []
    #: how many refund requests answer 500 before they succeed (an outage at Stripe)
    refund_failures = 0
    #: seconds the checkout-session endpoint takes to answer (a slow gateway)
    checkout_delay = 0.0
    #: set when a request arrives (a test waits on it rather than guessing a delay)
    arrived = threading.Event()

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length).decode()
        FakeStripe.requests.append({"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)})
        FakeStripe.arrived.set()
        if self.path == "/v1/refunds" and FakeStripe.refund_failures > 0:
            FakeStripe.refund_failures -= 1
            self.send_response(500)
            self.end_headers()
            return
        if self.path == "/v1/checkout/sessions":
            time.sleep(FakeStripe.checkout_delay)  # the stand-in gateway is slow on purpose
            reply = {"id": "cs_test_123", "url": "https://checkout.stripe.test/c/pay/cs_test_123"}
        elif self.path == "/v1/refunds":
            reply = {"id": "re_test_1", "status": "succeeded"}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stripe_server(settings):
    FakeStripe.requests = []
    FakeStripe.refund_failures = 0
    FakeStripe.checkout_delay = 0.0
    FakeStripe.arrived = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_SECRET_KEY = "sk_test_medbook"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.PAYMENT_GATEWAYS = ["stripe", "cash"]
    yield FakeStripe
    server.shutdown()
