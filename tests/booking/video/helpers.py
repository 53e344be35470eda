"""Builders for video and messaging tests: a confirmed visit made through the booking services, and
an independent reader of Agora "006" tokens (written from the format, not with the library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from booking import services as svc
from booking.models import Appointment
from tests.booking.appointments.helpers import details_for
from tests.factories import publish_slots

APP_ID = "0123456789abcdef0123456789abcdef"
CERTIFICATE = "fedcba9876543210fedcba9876543210"


def confirmed_visit(doctor, patient, *, start: datetime | None = None, minutes: int = 30) -> Appointment:
    """A paid, confirmed video visit starting at ``start`` (default: in five minutes).

    Booked and paid "six hours earlier" through the real services, so the visit may start soon (or
    have started) without bending the booking rules.
    """
    start = (start or timezone.now() + timedelta(minutes=5)).replace(microsecond=0)
    slot = publish_slots(doctor, start=start, count=1, minutes=minutes)[0]
    booked_at = start - timedelta(hours=6)
    appointment = svc.appointment_book(
        slot=slot, patient=patient, actor=patient, details=details_for(patient), now=booked_at
    )
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient, now=booked_at)
    svc.payment_succeeded(payment=payment, now=booked_at + timedelta(minutes=1))
    appointment = Appointment.objects.select_related("doctor__user", "patient").get(pk=appointment.pk)
    assert appointment.status == "confirmed", appointment.status
    return appointment


@dataclass(frozen=True)
class DecodedToken:
    version: str
    app_id: str
    signature: bytes
    crc_channel: int
    crc_uid: int
    message: bytes
    salt: int
    ts: int
    privileges: dict[int, int]

    def signed_by(self, certificate: str, *, channel: str, uid: int) -> bool:
        """Recompute HMAC-SHA256(certificate, app id + channel + uid + message) and compare."""
        uid_text = "" if uid == 0 else str(uid)
        payload = self.app_id.encode() + channel.encode() + uid_text.encode() + self.message
        expected = hmac.new(certificate.encode(), payload, hashlib.sha256).digest()
        return hmac.compare_digest(expected, self.signature)

    def names(self, *, channel: str, uid: int) -> bool:
        return self.crc_channel == zlib.crc32(channel.encode()) and self.crc_uid == zlib.crc32(str(uid).encode())


class _Buffer:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        (value,) = struct.unpack(fmt, self.data[self.pos : self.pos + size])
        self.pos += size
        return value

    def string(self) -> bytes:
        length = self.take("<H")
        value = self.data[self.pos : self.pos + length]
        self.pos += length
        return value


def decode_token(token: str) -> DecodedToken:
    """Format "006" + 32-character app id + base64(signature, crc(channel), crc(uid), message), where the
    message is salt, ts and a map {privilege: expiry}; every integer little-endian."""
    version, app_id, rest = token[:3], token[3:35], token[35:]
    content = _Buffer(base64.b64decode(rest))
    signature = content.string()
    crc_channel = content.take("<I")
    crc_uid = content.take("<I")
    message = content.string()
    assert content.pos == len(content.data), "trailing bytes in the token"
    body = _Buffer(message)
    salt = body.take("<I")
    ts = body.take("<I")
    privileges = {body.take("<H"): body.take("<I") for _ in range(body.take("<H"))}
    return DecodedToken(version, app_id, signature, crc_channel, crc_uid, message, salt, ts, privileges)
