"""The check-in QR code: the visit's booking code as an inline SVG, drawn on the server (``qrcode``,
already installed for two-factor set-up), so the page needs no script and no image request."""

from __future__ import annotations

import io
import re

import qrcode
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from qrcode.image.svg import SvgPathImage


def booking_qr_svg(code: str, *, label: str, size_px: int = 176) -> SafeString:
    """An ``<svg>`` QR code of ``code`` (what a desk scanner types into the check-in search), sized
    ``size_px`` square, with ``label`` as its accessible name."""
    image = qrcode.make(code, image_factory=SvgPathImage, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg") :]  # no XML declaration inside HTML
    svg = re.sub(r'width="[^"]*" height="[^"]*"', f'width="{size_px}" height="{size_px}"', svg, count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" class="booking-qr" ', 1)
    return mark_safe(svg)  # noqa: S308 - drawn here from a hex code; the label is escaped


def booking_qr_png(code: str) -> bytes:
    """The same QR code as a PNG (Pillow, which Wagtail needs anyway): attached to the confirmation
    email, where mail programs show images but not inline SVG."""
    image = qrcode.make(code, border=2, box_size=8, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
