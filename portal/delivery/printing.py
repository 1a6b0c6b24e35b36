"""Post: the address sheet for a window envelope and the day's print batch.

Pure: no Flask app, no database. The invoice PDF (``portal.invoices.pdf``) uses the same page
geometry and draws the same window address.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
PAGE_W, PAGE_H = A4
MARGIN_L = 20 * mm
MARGIN_R = 20 * mm

# The window of a C5/DL window envelope, measured from the top-left corner of the page.
WINDOW_X = 20 * mm
WINDOW_TOP = 45 * mm
WINDOW_W = 85 * mm
WINDOW_H = 45 * mm
RECIPIENT_TOP = WINDOW_TOP + 9 * mm
DETAILS_X = 118 * mm

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#b0b0b0")

SHEET_LABELS = {
    "nb": {"address_sheet": "Adresseark", "enclosed": "Vedlagt: faktura {reference}",
           "enclosed_credit_note": "Vedlagt: kreditnota {reference}"},
    "nn": {"address_sheet": "Adresseark", "enclosed": "Vedlagt: faktura {reference}",
           "enclosed_credit_note": "Vedlagt: kreditnota {reference}"},
    "en": {"address_sheet": "Address sheet", "enclosed": "Enclosed: invoice {reference}",
           "enclosed_credit_note": "Enclosed: credit note {reference}"},
}


@dataclass(frozen=True)
class PartyInfo:
    """A sender or recipient as printed: name, postal address lines, optional org number."""

    name: str
    address_lines: tuple[str, ...]
    org_number: str | None = None


def _y(from_top: float) -> float:
    """Convert a distance from the top edge into reportlab's bottom-up y coordinate."""
    return PAGE_H - from_top


def _fit(canvas: rl_canvas.Canvas, text: str, font: str, size: float, width: float) -> str:
    """Shorten text with an ellipsis so it fits within width points."""
    if canvas.stringWidth(text, font, size) <= width:
        return text
    while text and canvas.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_window_address(
    canvas: rl_canvas.Canvas, recipient: PartyInfo, sender: PartyInfo | None
) -> None:
    """Draw the address as seen through the envelope window, with the return line above it."""
    width = WINDOW_W - 4 * mm
    if sender is not None:
        parts = [sender.name, *sender.address_lines]
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            WINDOW_X, _y(WINDOW_TOP + 5 * mm), _fit(canvas, ", ".join(parts), FONT, 7, width)
        )
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(
            WINDOW_X, _y(WINDOW_TOP + 6.5 * mm), WINDOW_X + width, _y(WINDOW_TOP + 6.5 * mm)
        )
    canvas.setFillColor(INK)
    y = RECIPIENT_TOP + 4 * mm
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(WINDOW_X, _y(y), _fit(canvas, recipient.name, FONT_BOLD, 11, width))
    canvas.setFont(FONT, 11)
    for line in recipient.address_lines[:6]:
        y += 5 * mm
        canvas.drawString(WINDOW_X, _y(y), _fit(canvas, line, FONT, 11, width))


def render_address_sheet(
    recipient: PartyInfo, sender: PartyInfo, reference: str, language: str = "nb", document: str = "invoice"
) -> bytes:
    """Render an A4 cover sheet for posting: return address and recipient in the window.
    ``document``: "invoice" or "credit_note", named on the sheet."""
    language = language if language in SHEET_LABELS else "nb"
    labels = dict(SHEET_LABELS[language])
    if document == "credit_note":
        labels["enclosed"] = labels["enclosed_credit_note"]
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=A4, invariant=1, lang={"nb": "nb-NO", "nn": "nn-NO"}.get(language, "en"))
    c.setTitle(f"{labels['address_sheet']} {reference}")
    c.setAuthor(sender.name)
    c.setSubject(labels["enclosed"].format(reference=reference))
    c.setCreator(sender.name)

    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 12)
    c.drawString(MARGIN_L, _y(20 * mm), _fit(c, sender.name, FONT_BOLD, 12, 105 * mm))

    _draw_window_address(c, recipient, sender)

    c.setFont(FONT, 9)
    c.setFillColor(MUTED)
    c.drawString(DETAILS_X, _y(RECIPIENT_TOP + 4 * mm), labels["address_sheet"])
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 10)
    c.drawString(
        DETAILS_X,
        _y(RECIPIENT_TOP + 10 * mm),
        _fit(
            c,
            labels["enclosed"].format(reference=reference),
            FONT_BOLD,
            10,
            PAGE_W - MARGIN_R - DETAILS_X,
        ),
    )
    c.showPage()
    c.save()
    return buf.getvalue()


def render_print_batch(items: list[tuple]) -> bytes:
    """Merge a day's post into one PDF: for each item its address sheet, then the invoice.

    Each item is ``(recipient, sender, reference, invoice_pdf_bytes)``, optionally followed by
    the recipient's language (``nb``, ``nn`` or ``en``; bokmål when left out) for the sheet and
    the document kind ("invoice" or "credit_note"; an invoice when left out).
    """
    if not items:
        raise ValueError("print batch needs at least one item")
    writer = PdfWriter()
    for recipient, sender, reference, invoice_pdf, *rest in items:
        language = rest[0] if rest else "nb"
        document = rest[1] if len(rest) > 1 else "invoice"
        sheet = render_address_sheet(recipient, sender, reference, language, document=document)
        writer.append(PdfReader(io.BytesIO(sheet)))
        writer.append(PdfReader(io.BytesIO(invoice_pdf)))
    writer.add_metadata({"/Title": f"Utskrift – {len(items)} forsendelser"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
