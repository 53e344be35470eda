"""A doctor's printable day schedule as a PDF, written in pure Python (fpdf2) with DejaVu Sans
(vendored under themes/static/fonts/, with its licence) so Vietnamese names print correctly on any
machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from booking.models import Doctor
from booking.selectors.appointments import day_schedule

FONT_DIR = Path(settings.BASE_DIR) / "themes" / "static" / "fonts"


def day_schedule_pdf(*, doctor: Doctor, day: dt.date, language: str | None = None) -> bytes:
    """The visits of ``doctor`` on local ``day`` (doctor's zone) in time order, one row each."""
    appointments = day_schedule(day=day, doctor=doctor)
    zone = doctor.zone
    with translation.override(language or translation.get_language()):
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(_("Day schedule"))
        pdf.set_creator("Medbook")
        pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 16)
        pdf.cell(0, 10, _("Day schedule"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 11)
        pdf.cell(0, 7, str(doctor), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(
            0,
            7,
            f"{formats.date_format(day, 'DATE_FORMAT')} · {zone.key}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(4)
        columns = [(_("Time"), 28), (_("Patient"), 62), (_("Phone"), 34), (_("Visit"), 26), (_("Status"), 40)]
        pdf.set_font("DejaVu", "B", 10)
        pdf.set_fill_color(226, 232, 240)
        for title, width in columns:
            pdf.cell(width, 8, title, border=1, fill=True)
        pdf.ln()
        pdf.set_font("DejaVu", "", 10)
        if not appointments:
            pdf.cell(sum(w for _t, w in columns), 8, _("No visits."), border=1, new_x="LMARGIN", new_y="NEXT")
        for appointment in appointments:
            start = timezone.localtime(appointment.starts_at, zone)
            end = timezone.localtime(appointment.ends_at, zone) if appointment.ends_at else None
            values = [
                f"{start:%H:%M}–{end:%H:%M}" if end else f"{start:%H:%M}",
                appointment.patient_name,
                appointment.phone,
                _("Video") if appointment.mode == "video" else _("In person"),
                str(appointment.get_status_display()),
            ]
            for (_title, width), value in zip(columns, values, strict=True):
                pdf.cell(width, 8, _fit(pdf, value, width - 2), border=1)
            pdf.ln()
        pdf.ln(4)
        pdf.set_font("DejaVu", "", 8)
        printed = timezone.localtime(timezone.now(), zone)
        pdf.cell(0, 5, _("Printed %(when)s") % {"when": printed.strftime("%Y-%m-%d %H:%M")})
        return bytes(pdf.output())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` millimetres."""
    text = text or ""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
