"""SMS and email backends that misbehave on purpose, named by dotted path in the tests' settings."""

from __future__ import annotations

import threading

from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend

from workflows import sms


class FlakySMSBackend(sms.BaseSMSBackend):
    """Fails ``failures_left`` times, then delivers to ``workflows.sms.outbox``."""

    failures_left = 0

    def send(self, to: str, text: str) -> None:
        if FlakySMSBackend.failures_left > 0:
            FlakySMSBackend.failures_left -= 1
            raise ConnectionError("SMS gateway unreachable")
        sms.outbox.append(sms.SentSMS(to=to, text=text))


class Gate:
    """Parks the first sender inside ``send`` until the test opens the gate; later senders pass."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._taken = False

    def pass_through(self) -> None:
        with self._lock:
            first, self._taken = not self._taken, True
        if first:
            self.entered.set()
            assert self.release.wait(timeout=20), "the test never opened the gate"


gate = Gate()


def reset_gate() -> Gate:
    global gate
    gate = Gate()
    return gate


class GateSMSBackend(sms.BaseSMSBackend):
    def send(self, to: str, text: str) -> None:
        gate.pass_through()
        sms.outbox.append(sms.SentSMS(to=to, text=text))


class GateEmailBackend(LocmemEmailBackend):
    def send_messages(self, messages):
        gate.pass_through()
        return super().send_messages(messages)
