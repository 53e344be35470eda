"""An invoice or credit note as a PDF (fpdf2), drawn only from the content frozen when it was issued
(``Invoice.data``), in the language it was issued in; DejaVu Sans (vendored under themes/static/fonts/,
like the day schedule and the prescription) so Vietnamese diacritics print on any machine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from booking.models import Invoice
from core.money import money_text

FONT_DIR = Path(settings.BASE_DIR) / "themes" / "static" / "fonts"
FONT = "DejaVu"


def invoice_title(invoice: Invoice) -> str:
    """ "Invoice" or "Credit note" in the active language."""
    return _("Credit note") if invoice.is_credit_note else _("Invoice")


def invoice_pdf(invoice: Invoice) -> bytes:
    data = invoice.data
    currency = data.get("currency") or invoice.currency
    with translation.override(invoice.language):
        title = invoice_title(invoice)
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(f"{title} {invoice.number}")
        pdf.set_creator("Medbook")
        # the same document downloaded twice is the same file: no "now" inside it
        pdf.set_creation_date(invoice.issued_at)
        pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_page()
        width = pdf.epw

        def text(value: str, *, size: int = 10, bold: bool = False, height: float = 5.5, align: str = "L") -> None:
            pdf.set_font(FONT, "B" if bold else "", size)
            pdf.multi_cell(width, height, value, new_x="LMARGIN", new_y="NEXT", align=align)

        seller = data.get("seller", {})
        text(seller.get("name", ""), size=14, bold=True, height=7)
        for value in (
            seller.get("address", "").replace("\n", ", "),
            _("Tax ID: %(tax_id)s") % {"tax_id": seller["tax_id"]} if seller.get("tax_id") else "",
            " · ".join(part for part in (seller.get("phone", ""), seller.get("email", "")) if part),
        ):
            if value:
                text(value, size=9, height=4.5)
        pdf.ln(5)
        text(title, size=18, bold=True, height=9)
        text(_("Number: %(number)s") % {"number": invoice.number}, bold=True)
        text(_("Date of issue: %(date)s") % {"date": data.get("issued_on", "")})
        if data.get("corrects"):
            text(_("Corrects invoice %(number)s") % {"number": data["corrects"]})
        if data.get("reference"):
            text(data["reference"])
        pdf.ln(3)

        buyer = data.get("buyer", {})
        text(_("Billed to"), size=9, bold=True)
        text(buyer.get("name", ""))
        for value in (
            buyer.get("address", ""),
            _("Tax ID: %(tax_id)s") % {"tax_id": buyer["tax_id"]} if buyer.get("tax_id") else "",
            _("National ID: %(number)s") % {"number": buyer["national_id"]} if buyer.get("national_id") else "",
            " · ".join(part for part in (buyer.get("email", ""), buyer.get("phone", "")) if part),
        ):
            if value:
                text(value, size=9, height=4.5)
        pdf.ln(4)

        amount_width = 45
        description_width = width - amount_width
        pdf.set_font(FONT, "B", 10)
        pdf.set_fill_color(226, 232, 240)
        pdf.cell(description_width, 8, _("Description"), border="B", fill=True)
        pdf.cell(amount_width, 8, _("Amount"), border="B", fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
        for line in data.get("lines", []):
            top = pdf.get_y()
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(description_width, 6, line["description"], new_x="LMARGIN", new_y="NEXT")
            if line.get("detail"):
                pdf.set_font(FONT, "", 8)
                pdf.multi_cell(description_width, 4.5, line["detail"], new_x="LMARGIN", new_y="NEXT")
            bottom = pdf.get_y()
            pdf.set_xy(pdf.l_margin + description_width, top)
            pdf.set_font(FONT, "", 10)
            pdf.cell(amount_width, 6, _signed(line["amount"], currency), align="R")
            pdf.set_xy(pdf.l_margin, bottom + 1)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(2)

        def total_row(label: str, amount: str, *, bold: bool = False) -> None:
            pdf.set_font(FONT, "B" if bold else "", 11 if bold else 10)
            pdf.cell(description_width, 7, label, align="R")
            pdf.cell(amount_width, 7, money_text(Decimal(amount), currency), align="R", new_x="LMARGIN", new_y="NEXT")

        if data.get("vat_percent"):
            total_row(_("Amount before VAT"), data["net"])
            total_row(_("VAT (%(percent)s%%)") % {"percent": _percent(data["vat_percent"])}, data["vat"])
        total_row(_("Total refunded") if invoice.is_credit_note else _("Total paid"), data["total"], bold=True)
        if not data.get("vat_percent"):
            pdf.set_font(FONT, "", 8)
            pdf.cell(width, 5, _("Not subject to VAT."), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

        paid = data.get("paid") or {}
        if paid.get("method"):
            label = _("Refunded through") if invoice.is_credit_note else _("Paid by")
            text(f"{label}: {paid['method']}" + (f" · {paid['when']}" if paid.get("when") else ""), size=9)
        if paid.get("reference"):
            text(_("Payment reference: %(reference)s") % {"reference": paid["reference"]}, size=9)
        pdf.ln(6)
        text(_("Thank you for choosing %(clinic)s.") % {"clinic": seller.get("name", "")}, size=9)
        return bytes(pdf.output())


def _signed(amount: str, currency: str) -> str:
    value = Decimal(amount)
    return f"− {money_text(-value, currency)}" if value < 0 else money_text(value, currency)


def _percent(value: str) -> str:
    number = Decimal(value)
    return f"{number.normalize():f}"
