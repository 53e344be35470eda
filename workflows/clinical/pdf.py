"""The prescription of a signed visit note as a PDF (fpdf2, DejaVu Sans so Vietnamese prints), in the
patient's language, with the clinic's header and the doctor's name."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from workflows.clinical.models import VisitNote

FONT_DIR = Path(settings.BASE_DIR) / "themes" / "static" / "fonts"


def clinic_header() -> dict[str, str]:
    """The clinic's name and contact details as the public site's settings hold them (the CMS is a layer
    above: looked up by name, so a clinic without it still prints, under the site name)."""
    header = {"name": getattr(settings, "WAGTAIL_SITE_NAME", "Medbook"), "address": "", "phone": "", "email": ""}
    try:
        model = apps.get_model("cms", "ClinicSettings")
    except LookupError:
        return header
    row = model.objects.filter(site__is_default_site=True).first()
    if row is not None:
        header.update(
            {"name": row.clinic_name or header["name"], "address": row.address, "phone": row.phone, "email": row.email}
        )
    return header


def patient_language(note: VisitNote) -> str:
    return note.appointment.patient.language or settings.LANGUAGE_CODE


def prescription_pdf(*, note: VisitNote, language: str | None = None) -> bytes:
    """The signed prescription of ``note`` (callers check ``note.is_signed`` and who may read it)."""
    appointment = note.appointment
    doctor = appointment.doctor
    lines = list(note.prescription_lines.all())
    diagnoses = list(note.diagnoses.all())
    header = clinic_header()
    zone = doctor.zone
    with translation.override(language or patient_language(note)):
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(_("Prescription"))
        pdf.set_creator("Medbook")
        pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_page()
        width = pdf.epw

        def line(text: str, *, size: int = 10, bold: bool = False, height: float = 6) -> None:
            pdf.set_font("DejaVu", "B" if bold else "", size)
            pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")

        line(header["name"], size=14, bold=True, height=7)
        contact = " · ".join(
            part for part in (header["address"].replace("\n", ", "), header["phone"], header["email"]) if part
        )
        if contact:
            line(contact, size=9, height=5)
        pdf.ln(4)
        line(_("Prescription"), size=16, bold=True, height=9)
        visited = timezone.localtime(appointment.starts_at, zone) if appointment.starts_at else None
        line(_("Patient: %(name)s") % {"name": appointment.patient_name})
        if visited:
            line(_("Visit: %(date)s") % {"date": formats.date_format(visited.date(), "DATE_FORMAT")})
        line(_("Doctor: %(doctor)s") % {"doctor": doctor})
        if diagnoses:
            line(
                _("Diagnosis: %(diagnoses)s")
                % {"diagnoses": "; ".join(f"{d.code} {d.description}".strip() for d in diagnoses)}
            )
        pdf.ln(3)
        if not lines:
            line(_("No medicines prescribed."))
        for number, item in enumerate(lines, start=1):
            title = " ".join(part for part in (item.medicine, item.strength) if part)
            line(f"{number}. {title}", size=11, bold=True)
            how = ", ".join(part for part in (item.dose, item.route, item.frequency) if part)
            if how:
                line(_("How to take: %(how)s") % {"how": how})
            if item.duration:
                line(_("For: %(duration)s") % {"duration": item.duration})
            if item.quantity:
                line(_("Quantity: %(quantity)s") % {"quantity": item.quantity})
            if item.instructions:
                line(_("Instructions: %(text)s") % {"text": item.instructions})
            pdf.ln(2)
        if note.plan:
            pdf.ln(2)
            line(_("Treatment plan"), size=11, bold=True)
            line(note.plan)
        pdf.ln(6)
        signed = timezone.localtime(note.signed_at, zone) if note.signed_at else None
        if signed:
            line(
                _("Signed by %(doctor)s on %(when)s (version %(version)s)")
                % {"doctor": doctor, "when": signed.strftime("%Y-%m-%d %H:%M"), "version": note.version},
                size=9,
            )
        return bytes(pdf.output())
