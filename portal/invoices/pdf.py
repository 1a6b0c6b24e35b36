"""The invoice PDF (the address sheet and print batch are in ``portal.delivery.printing``).

The invoice PDF ("print format") accompanies every delivery: it is attached to the e-mail when
the consumer has not consented to eFaktura, and it is printed and posted when there is no
e-mail address either. The layout follows the usual Norwegian invoice: issuer at the top, the
customer's address where the window of a C5/DL window envelope shows it (left, 45 mm from the
top), invoice details to the right, the lines, the totals and a payment block with amount,
account number, KID and due date.

The module is pure: it needs no Flask app, no database and no request context. Labels exist in
bokmål ("nb"), nynorsk ("nn") and English ("en"). Money is always integer øre and is never turned into a float.
Text uses the built-in Helvetica, whose WinAnsi encoding covers æøå/ÆØÅ, the no-break space,
the en dash and the euro sign.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from portal.core.formatting import NBSP, format_account_number, format_money, format_org_number
from portal.core.formatting import format_date as _format_date
from portal.core.formatting import format_quantity as _format_quantity
from portal.delivery.printing import (
    DETAILS_X,
    FONT,
    FONT_BOLD,
    INK,
    MARGIN_L,
    MARGIN_R,
    MUTED,
    PAGE_H,
    PAGE_W,
    RECIPIENT_TOP,
    RULE,
    PartyInfo,
    _draw_window_address,
    _fit,
    _y,
)

__all__ = [
    "InvoiceLinePrint",
    "InvoicePrint",
    "PartyInfo",
    "format_account_number",
    "format_money",
    "render_invoice_pdf",
]

CONTENT_W = PAGE_W - MARGIN_L - MARGIN_R

# Where the flowing content (lines, totals, payment) starts on the first page and on the
# following pages, measured from the top edge; and the height of the footer strip.
FIRST_BODY_TOP = 100 * mm
LATER_BODY_TOP = 32 * mm
FOOTER_H = 22 * mm

SHADE = colors.HexColor("#eef1f4")

LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "invoice": "Faktura",
        "invoice_upper": "FAKTURA",
        "invoice_number": "Fakturanummer",
        "customer_number": "Kundenummer",
        "issue_date": "Fakturadato",
        "due_date": "Forfallsdato",
        "org_number": "Org.nr.",
        "vat_suffix": "MVA",
        "description": "Beskrivelse",
        "quantity": "Antall",
        "unit_price": "Enhetspris",
        "vat": "MVA",
        "amount": "Beløp",
        "net": "Sum eks. mva.",
        "vat_total": "Merverdiavgift",
        "total": "Totalt inkl. mva.",
        "payment": "Betalingsinformasjon",
        "amount_to_pay": "Beløp å betale",
        "credit_amount": "Til gode",
        "credit_note": "Beløpet er til gode og skal ikke betales.",
        "account": "Til kontonummer",
        "kid": "KID",
        "pay_note": "Oppgi KID ved betaling.",
        "page": "Side {page} av {pages}",
        "address_sheet": "Adresseark",
        "enclosed": "Vedlagt: faktura {reference}",
        "credit_title": "Kreditnota",
        "credit_title_upper": "KREDITNOTA",
        "credit_number": "Kreditnotanummer",
        "credit_date": "Dato",
        "credits_invoice": "Krediterer faktura nr. {number} av {date}",
        "credit_reason": "Årsak: {reason}",
        "credited_total": "Kreditert beløp",
        "vat_of": "MVA {rate}\u00a0% av {base}",
        "credit_block": "Ingenting å betale",
        "credit_pay_note": "Dette er en kreditnota for faktura nr. {number}. Du skal ikke betale noe. Beløpet "
                           "trekkes fra det du skylder på fakturaen; har du allerede betalt, får du det tilbake.",
    },
    "nn": {
        "invoice": "Faktura",
        "invoice_upper": "FAKTURA",
        "invoice_number": "Fakturanummer",
        "customer_number": "Kundenummer",
        "issue_date": "Fakturadato",
        "due_date": "Forfallsdato",
        "org_number": "Org.nr.",
        "vat_suffix": "MVA",
        "description": "Skildring",
        "quantity": "Antal",
        "unit_price": "Einingspris",
        "vat": "MVA",
        "amount": "Beløp",
        "net": "Sum ekskl. mva.",
        "vat_total": "Meirverdiavgift",
        "total": "Totalt inkl. mva.",
        "payment": "Betalingsinformasjon",
        "amount_to_pay": "Beløp å betale",
        "credit_amount": "Til gode",
        "credit_note": "Beløpet er til gode og skal ikkje betalast.",
        "account": "Til kontonummer",
        "kid": "KID",
        "pay_note": "Oppgi KID når du betaler.",
        "page": "Side {page} av {pages}",
        "address_sheet": "Adresseark",
        "enclosed": "Vedlagt: faktura {reference}",
        "credit_title": "Kreditnota",
        "credit_title_upper": "KREDITNOTA",
        "credit_number": "Kreditnotanummer",
        "credit_date": "Dato",
        "credits_invoice": "Krediterer faktura nr. {number} av {date}",
        "credit_reason": "Årsak: {reason}",
        "credited_total": "Kreditert beløp",
        "vat_of": "MVA {rate}\u00a0% av {base}",
        "credit_block": "Ingenting å betale",
        "credit_pay_note": "Dette er ei kreditnota for faktura nr. {number}. Du skal ikkje betale noko. Beløpet "
                           "vert trekt frå det du skuldar på fakturaen; har du alt betalt, får du det tilbake.",
    },
    "en": {
        "invoice": "Invoice",
        "invoice_upper": "INVOICE",
        "invoice_number": "Invoice number",
        "customer_number": "Customer number",
        "issue_date": "Invoice date",
        "due_date": "Due date",
        "org_number": "Org. no.",
        "vat_suffix": "VAT",
        "description": "Description",
        "quantity": "Qty",
        "unit_price": "Unit price",
        "vat": "VAT",
        "amount": "Amount",
        "net": "Total excl. VAT",
        "vat_total": "VAT",
        "total": "Total incl. VAT",
        "payment": "Payment details",
        "amount_to_pay": "Amount to pay",
        "credit_amount": "In your favour",
        "credit_note": "This amount is in your favour and is not to be paid.",
        "account": "To account",
        "kid": "KID",
        "pay_note": "Please state the KID when paying.",
        "page": "Page {page} of {pages}",
        "address_sheet": "Address sheet",
        "enclosed": "Enclosed: invoice {reference}",
        "credit_title": "Credit note",
        "credit_title_upper": "CREDIT NOTE",
        "credit_number": "Credit note number",
        "credit_date": "Date",
        "credits_invoice": "Credits invoice no. {number} of {date}",
        "credit_reason": "Reason: {reason}",
        "credited_total": "Amount credited",
        "vat_of": "VAT {rate}\u00a0% of {base}",
        "credit_block": "Nothing to pay",
        "credit_pay_note": "This is a credit note for invoice no. {number}. There is nothing to pay. The amount is "
                           "deducted from what you owe on the invoice; if you have already paid, it is refunded.",
    },
}

@dataclass(frozen=True)
class InvoiceLinePrint:
    """One invoice line; ``line_total_ore`` includes VAT."""

    description: str
    quantity: Decimal
    unit_price_ore: int
    vat_rate_percent: int
    line_total_ore: int
    line_vat_ore: int | None = None  # the VAT in line_total_ore, when known (else computed from the rate)


@dataclass(frozen=True)
class InvoicePrint:
    """Everything printed on an invoice. ``account_number`` is 11 digits without separators."""

    issuer: PartyInfo
    customer: PartyInfo
    invoice_number: str
    customer_number: str
    issue_date: date
    due_date: date
    kid: str
    account_number: str
    lines: tuple[InvoiceLinePrint, ...]
    net_ore: int
    vat_ore: int
    total_ore: int
    language: str = "nb"
    # The issuer's VAT registration (from the business register); None: guessed from the lines.
    issuer_vat_registered: bool | None = None
    # A credit note: the credited invoice's number and date (amounts are then negative), and why.
    credits_invoice: tuple[str, date] | None = None
    credit_reason: str | None = None


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def _labels(language: str) -> dict[str, str]:
    try:
        return LABELS[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r}; use 'nb', 'nn' or 'en'") from None


def _org_line(party: PartyInfo, labels: dict[str, str], vat_registered: bool) -> str | None:
    if not party.org_number:
        return None
    text = f"{labels['org_number']} {format_org_number(party.org_number)}"
    suffix = labels["vat_suffix"]
    if vat_registered and suffix not in party.org_number.upper():
        text += f" {suffix}"
    return text


# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------


class _NumberedCanvas(rl_canvas.Canvas):
    """Canvas that writes 'page X of Y' in the footer once the page count is known."""

    page_label = LABELS["nb"]["page"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []

    def showPage(self):
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(MUTED)
            self.drawRightString(
                PAGE_W - MARGIN_R,
                10 * mm,
                self.page_label.format(page=self._pageNumber, pages=total),
            )
            super().showPage()
        super().save()


def _canvas_class(language: str) -> type[_NumberedCanvas]:
    return type(
        "_NumberedCanvasLang", (_NumberedCanvas,), {"page_label": _labels(language)["page"]}
    )


# --------------------------------------------------------------------------------------------
# Invoice
# --------------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5, textColor=INK)
    return {
        "cell": base,
        "cell_right": ParagraphStyle("cell_right", parent=base, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD),
        "head_right": ParagraphStyle(
            "head_right", parent=base, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
    }


class _InvoiceDrawing:
    """Static page furniture of an invoice: header, address, details and footer."""

    def __init__(self, inv: InvoicePrint):
        self.inv = inv
        self.labels = _labels(inv.language)
        self.vat_registered = inv.issuer_vat_registered if inv.issuer_vat_registered is not None else (
            inv.vat_ore != 0 or any(line.vat_rate_percent for line in inv.lines))

    def _issuer_block(self, canvas: rl_canvas.Canvas) -> None:
        inv, labels = self.inv, self.labels
        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, 14)
        canvas.drawString(
            MARGIN_L, _y(20 * mm), _fit(canvas, inv.issuer.name, FONT_BOLD, 14, 105 * mm)
        )
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(MUTED)
        y = 20 * mm
        lines = list(inv.issuer.address_lines[:3])
        org = _org_line(inv.issuer, labels, self.vat_registered)
        if org:
            lines.append(org)
        for line in lines:
            y += 4 * mm
            canvas.drawString(MARGIN_L, _y(y), _fit(canvas, line, FONT, 8.5, 105 * mm))

        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, 22)
        title = labels["credit_title_upper"] if inv.credits_invoice else labels["invoice_upper"]
        canvas.drawRightString(PAGE_W - MARGIN_R, _y(21 * mm), title)

    def _details_block(self, canvas: rl_canvas.Canvas) -> None:
        inv, labels, lang = self.inv, self.labels, self.inv.language
        if inv.credits_invoice:  # a credit note has no due date: nothing is to be paid
            rows = [
                (labels["credit_number"], inv.invoice_number, True),
                (labels["customer_number"], inv.customer_number, False),
                (labels["credit_date"], _format_date(inv.issue_date, lang), False),
                (labels["invoice_number"], inv.credits_invoice[0], False),
            ]
        else:
            rows = [
                (labels["invoice_number"], inv.invoice_number, False),
                (labels["customer_number"], inv.customer_number, False),
                (labels["issue_date"], _format_date(inv.issue_date, lang), False),
                (labels["due_date"], _format_date(inv.due_date, lang), True),
            ]
        value_x = PAGE_W - MARGIN_R
        y = RECIPIENT_TOP + 4 * mm
        for label, value, bold in rows:
            canvas.setFillColor(MUTED)
            canvas.setFont(FONT, 9)
            canvas.drawString(DETAILS_X, _y(y), label)
            canvas.setFillColor(INK)
            canvas.setFont(FONT_BOLD if bold else FONT, 9)
            canvas.drawRightString(value_x, _y(y), value)
            y += 5.5 * mm
        # Amount due, repeated next to the details so it is visible at a glance.
        y += 1.5 * mm
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(DETAILS_X, _y(y - 4 * mm), value_x, _y(y - 4 * mm))
        label = labels["amount_to_pay"] if inv.total_ore >= 0 else labels["credit_amount"]
        if inv.credits_invoice:
            label = labels["credited_total"]
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(DETAILS_X, _y(y + 1 * mm), label)
        canvas.drawRightString(value_x, _y(y + 1 * mm), format_money(inv.total_ore, lang))

    def _footer(self, canvas: rl_canvas.Canvas) -> None:
        inv, labels = self.inv, self.labels
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_L, 16 * mm, PAGE_W - MARGIN_R, 16 * mm)
        parts = [inv.issuer.name]
        org = _org_line(inv.issuer, labels, self.vat_registered)
        if org:
            parts.append(org)
        if not inv.credits_invoice:
            parts.append(f"{labels['account']} {format_account_number(inv.account_number)}")
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_L, 10 * mm, _fit(canvas, " · ".join(parts), FONT, 8, 130 * mm))

    def first_page(self, canvas: rl_canvas.Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        self._issuer_block(canvas)
        _draw_window_address(canvas, self.inv.customer, None)
        self._details_block(canvas)
        self._footer(canvas)
        canvas.restoreState()

    def later_page(self, canvas: rl_canvas.Canvas, doc: BaseDocTemplate) -> None:
        inv, labels, lang = self.inv, self.labels, self.inv.language
        canvas.saveState()
        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, 11)
        canvas.drawString(
            MARGIN_L, _y(18 * mm), _fit(canvas, inv.issuer.name, FONT_BOLD, 11, 95 * mm)
        )
        canvas.setFont(FONT_BOLD, 11)
        title = labels["credit_title"] if inv.credits_invoice else labels["invoice"]
        canvas.drawRightString(
            PAGE_W - MARGIN_R, _y(18 * mm), f"{title} {inv.invoice_number}"
        )
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            MARGIN_L,
            _y(23 * mm),
            _fit(
                canvas,
                f"{inv.customer.name} · {labels['customer_number']} {inv.customer_number}",
                FONT,
                8.5,
                95 * mm,
            ),
        )
        if not inv.credits_invoice:
            canvas.drawRightString(
                PAGE_W - MARGIN_R,
                _y(23 * mm),
                f"{labels['due_date']} {_format_date(inv.due_date, lang)}",
            )
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_L, _y(26 * mm), PAGE_W - MARGIN_R, _y(26 * mm))
        self._footer(canvas)
        canvas.restoreState()


def _lines_table(inv: InvoicePrint, styles: dict[str, ParagraphStyle]) -> Table:
    labels, lang = _labels(inv.language), inv.language
    header = [
        Paragraph(escape(labels["description"]), styles["head"]),
        Paragraph(escape(labels["quantity"]), styles["head_right"]),
        Paragraph(escape(labels["unit_price"]), styles["head_right"]),
        Paragraph(escape(labels["vat"]), styles["head_right"]),
        Paragraph(escape(labels["amount"]), styles["head_right"]),
    ]
    rows: list[list] = [header]
    for line in inv.lines:
        rows.append(
            [
                Paragraph(escape(line.description), styles["cell"]),
                _format_quantity(line.quantity, lang),
                format_money(line.unit_price_ore, lang),
                f"{line.vat_rate_percent}{NBSP}%",
                format_money(line.line_total_ore, lang),
            ]
        )
    widths = [CONTENT_W - 90 * mm, 16 * mm, 28 * mm, 14 * mm, 32 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    table.setStyle(TableStyle(style))
    return table


def _totals_table(inv: InvoicePrint) -> Table:
    labels, lang = _labels(inv.language), inv.language
    rows = [[labels["net"], format_money(inv.net_ore, lang)]]
    if inv.credits_invoice:  # the VAT credited, per rate, with the base it is computed on
        for rate, (base, vat) in sorted(vat_by_rate(inv.lines).items(), reverse=True):
            rows.append([labels["vat_of"].format(rate=rate, base=format_money(base, lang)), format_money(vat, lang)])
    rows.append([labels["vat_total"], format_money(inv.vat_ore, lang)])
    rows.append([labels["credited_total"] if inv.credits_invoice else labels["total"],
                 format_money(inv.total_ore, lang)])
    last = len(rows) - 1
    table = Table(rows, colWidths=[62 * mm if inv.credits_invoice else 50 * mm, 32 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("FONT", (0, last), (-1, last), FONT_BOLD, 10),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, last), (-1, last), 0.8, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def vat_by_rate(lines) -> dict[int, tuple[int, int]]:
    """Per VAT rate: (net base, VAT) in øre, from the line totals (incl. VAT) and rates."""
    out: dict[int, tuple[int, int]] = {}
    for line in lines:
        rate = line.vat_rate_percent
        vat = line.line_vat_ore
        if vat is None:  # from the total incl. VAT: the VAT is the part above the base
            vat = line.line_total_ore - int((Decimal(line.line_total_ore) * 100 / (100 + rate)).to_integral_value())
        base, total_vat = out.get(rate, (0, 0))
        out[rate] = (base + line.line_total_ore - vat, total_vat + vat)
    return out


def _credit_block(inv: InvoicePrint, styles: dict[str, ParagraphStyle]) -> Table:
    """In place of the payment slip: nothing to pay, no KID, and what happens to the amount."""
    labels, lang = _labels(inv.language), inv.language
    title = Paragraph(
        escape(labels["credit_block"]),
        ParagraphStyle("pay_title", parent=styles["head"], fontSize=11, leading=14),
    )
    rows = [
        [title, ""],
        [labels["credited_total"], format_money(inv.total_ore, lang)],
        [Paragraph(escape(labels["credit_pay_note"].format(number=inv.credits_invoice[0])), styles["small"]), ""],
    ]
    table = Table(rows, colWidths=[55 * mm, CONTENT_W - 55 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (-1, 0)),
        ("SPAN", (0, -1), (-1, -1)),
        ("FONT", (0, 1), (0, 1), FONT, 10),
        ("FONT", (1, 1), (1, 1), FONT_BOLD, 12),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOX", (0, 0), (-1, -1), 1, INK),
        ("BACKGROUND", (0, 0), (-1, -1), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 8),
        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
    ]))
    return table


def _payment_block(inv: InvoicePrint, styles: dict[str, ParagraphStyle]) -> Table:
    labels, lang = _labels(inv.language), inv.language
    credit = inv.total_ore < 0
    title = Paragraph(
        escape(labels["payment"]),
        ParagraphStyle("pay_title", parent=styles["head"], fontSize=11, leading=14),
    )
    rows = [
        [title, ""],
        [
            labels["credit_amount"] if credit else labels["amount_to_pay"],
            format_money(inv.total_ore, lang),
        ],
        [labels["account"], format_account_number(inv.account_number)],
        [labels["kid"], inv.kid],
        [labels["due_date"], _format_date(inv.due_date, lang)],
        [
            Paragraph(
                escape(labels["credit_note"] if credit else labels["pay_note"]), styles["small"]
            ),
            "",
        ],
    ]
    table = Table(rows, colWidths=[55 * mm, CONTENT_W - 55 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("SPAN", (0, -1), (-1, -1)),
                ("FONT", (0, 1), (0, -2), FONT, 10),
                ("FONT", (1, 1), (1, -2), FONT_BOLD, 12),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 1, INK),
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, 0), 6),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
            ]
        )
    )
    return table


def render_invoice_pdf(inv: InvoicePrint) -> bytes:
    """Render the invoice as an A4 PDF (one or more pages) and return the bytes."""
    labels = _labels(inv.language)
    digits = "".join(ch for ch in inv.account_number if ch not in " .")
    if len(digits) != 11 or not digits.isdigit():  # fail before drawing anything
        raise ValueError(f"account number must be 11 digits, got {inv.account_number!r}")
    drawing = _InvoiceDrawing(inv)
    styles = _styles()
    doc_word = labels["credit_title"] if inv.credits_invoice else labels["invoice"]
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_L,
        rightMargin=MARGIN_R,
        topMargin=LATER_BODY_TOP,
        bottomMargin=FOOTER_H,
        title=f"{doc_word} {inv.invoice_number}",
        author=inv.issuer.name,
        subject=f"{doc_word} {inv.invoice_number} – {inv.customer.name}",
        creator=inv.issuer.name,
        lang={"nb": "nb-NO", "nn": "nn-NO"}.get(inv.language, "en"),
        invariant=1,
    )
    first_frame = Frame(
        MARGIN_L,
        FOOTER_H,
        CONTENT_W,
        PAGE_H - FIRST_BODY_TOP - FOOTER_H,
        id="first",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    later_frame = Frame(
        MARGIN_L,
        FOOTER_H,
        CONTENT_W,
        PAGE_H - LATER_BODY_TOP - FOOTER_H,
        id="later",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                id="First",
                frames=[first_frame],
                onPage=drawing.first_page,
                autoNextPageTemplate="Later",
            ),
            PageTemplate(id="Later", frames=[later_frame], onPage=drawing.later_page),
        ]
    )
    story = []
    if inv.credits_invoice:
        number, day = inv.credits_invoice
        story.append(Paragraph(escape(labels["credits_invoice"].format(
            number=number, date=_format_date(day, inv.language))),
            ParagraphStyle("credits", parent=styles["head"], fontSize=11, leading=14)))
        if inv.credit_reason:
            story.append(Paragraph(escape(labels["credit_reason"].format(reason=inv.credit_reason)), styles["cell"]))
        story.append(Spacer(1, 4 * mm))
    story += [
        _lines_table(inv, styles),
        Spacer(1, 4 * mm),
        KeepTogether(
            [
                _totals_table(inv),
                Spacer(1, 8 * mm),
                _credit_block(inv, styles) if inv.credits_invoice else _payment_block(inv, styles),
            ]
        ),
    ]
    doc.build(story, canvasmaker=_canvas_class(inv.language))
    return buf.getvalue()


