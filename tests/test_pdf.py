"""The printable PDFs: what a reader of the invoice, the address sheet and the batch sees."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from portal.core.formatting import format_account_number, format_money
from portal.delivery.printing import PartyInfo, render_address_sheet, render_print_batch
from portal.invoices.pdf import InvoiceLinePrint, InvoicePrint, render_invoice_pdf

NBSP = "\u00a0"

ISSUER = PartyInfo("Bølgen Kraft AS", ("Postboks 123 Sentrum", "0101 Oslo"), "923609016")
CUSTOMER = PartyInfo("Kåre Ødegård Ærø", ("Storgata 1 B", "7011 Trondheim"))
OTHER_CUSTOMER = PartyInfo("Åse Ørjasæter", ("Fjellveien 12", "5003 Bergen"))


def _line(i: int) -> InvoiceLinePrint:
    return InvoiceLinePrint(
        description=f"Strøm, målepunkt {i:03d}",
        quantity=Decimal("2.50"),
        unit_price_ore=50000,
        vat_rate_percent=25,
        line_total_ore=125000,
    )


def _invoice(n_lines: int = 3, **changes) -> InvoicePrint:
    inv = InvoicePrint(
        issuer=ISSUER,
        customer=CUSTOMER,
        invoice_number="2025-000123",
        customer_number="100045",
        issue_date=date(2025, 3, 1),
        due_date=date(2025, 3, 15),
        kid="0001234567890",
        account_number="12345678903",
        lines=tuple(_line(i) for i in range(n_lines)),
        net_ore=n_lines * 100000,
        vat_ore=n_lines * 25000,
        total_ore=n_lines * 125000,
    )
    return replace(inv, **changes)


def _norm(text: str) -> str:
    """Text extraction may render no-break spaces as plain spaces; compare on plain spaces."""
    return text.replace(NBSP, " ")


def _pages_text(pdf: bytes) -> list[str]:
    return [_norm(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_invoice_shows_number_amount_kid_account_due_date_and_customer():
    """The invoice shows its number, the amount due, KID, account, due date and customer."""
    pdf = render_invoice_pdf(_invoice())
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(_pages_text(pdf))
    assert "2025-000123" in text
    assert _norm(format_money(375000)) in text
    assert "3 750,00 kr" in text
    assert "0001234567890" in text
    assert "1234.56.78903" in text
    assert "15.03.2025" in text
    assert "Kåre Ødegård Ærø" in text
    assert "Storgata 1 B" in text
    assert "Forfallsdato" in text
    assert "Org.nr. 923 609 016 MVA" in text


def test_invoice_lines_show_description_quantity_unit_price_vat_and_amount():
    """Each line shows description, quantity, unit price, VAT rate and amount."""
    text = _pages_text(render_invoice_pdf(_invoice(n_lines=1)))[0]
    assert "Strøm, målepunkt 000" in text
    assert "2,5" in text.split()
    assert "500,00 kr" in text
    assert "25 %" in text
    assert "1 250,00 kr" in text


def test_invoice_metadata_title_in_norwegian():
    """The PDF title is 'Faktura <number>' for a bokmål invoice."""
    meta = PdfReader(io.BytesIO(render_invoice_pdf(_invoice()))).metadata
    assert meta.title == "Faktura 2025-000123"


def test_invoice_in_english_says_invoice():
    """The English variant uses English labels, money format and title."""
    pdf = render_invoice_pdf(_invoice(language="en"))
    text = "\n".join(_pages_text(pdf))
    assert "INVOICE" in text
    assert "Due date" in text
    assert "NOK 3,750.00" in text
    assert "2.5" in text.split()
    assert "15 March 2025" in text
    assert "Faktura" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Invoice 2025-000123"


def test_long_invoice_flows_onto_more_pages_with_total_on_the_last():
    """A 60-line invoice spans several pages, repeats the header and ends with the total."""
    pages = _pages_text(render_invoice_pdf(_invoice(n_lines=60)))
    assert len(pages) > 1
    total = "75 000,00 kr"
    assert total in pages[-1]
    assert "0001234567890" in pages[-1]
    assert "Strøm, målepunkt 059" in "\n".join(pages)
    for number, page in enumerate(pages, start=1):
        assert "2025-000123" in page
        assert f"Side {number} av {len(pages)}" in page
    for page in pages[1:]:
        if "målepunkt" in page:
            assert "Beskrivelse" in page


def test_credit_invoice_says_amount_is_in_customers_favour():
    """A negative total is labelled as in the customer's favour, not as an amount to pay."""
    inv = _invoice(n_lines=1, net_ore=-100000, vat_ore=-25000, total_ore=-125000)
    text = "\n".join(_pages_text(render_invoice_pdf(inv)))
    assert "-1 250,00 kr" in text
    assert "Til gode" in text
    assert "Beløp å betale" not in text


def test_invoice_output_is_deterministic():
    """Rendering the same invoice twice gives the same bytes."""
    assert render_invoice_pdf(_invoice()) == render_invoice_pdf(_invoice())


def test_invoice_escapes_markup_in_descriptions():
    """Descriptions containing '<' and '&' are printed literally."""
    line = replace(_line(0), description="Rabatt <10 kWh & fastledd")
    text = _pages_text(render_invoice_pdf(_invoice(n_lines=1, lines=(line,))))[0]
    assert "Rabatt <10 kWh & fastledd" in text


def test_invoice_rejects_malformed_account_number():
    """An account number that is not 11 digits is refused rather than printed."""
    with pytest.raises(ValueError):
        render_invoice_pdf(_invoice(account_number="1234567890"))


def test_invoice_rejects_unknown_language():
    """Only bokmål and English labels exist."""
    with pytest.raises(ValueError):
        render_invoice_pdf(_invoice(language="sv"))


def test_address_sheet_shows_recipient_sender_and_reference():
    """The address sheet is one page with the recipient's lines, return address and reference."""
    pdf = render_address_sheet(CUSTOMER, ISSUER, "2025-000123")
    pages = _pages_text(pdf)
    assert len(pages) == 1
    for line in (CUSTOMER.name, *CUSTOMER.address_lines):
        assert line in pages[0]
    assert "Bølgen Kraft AS" in pages[0]
    assert "0101 Oslo" in pages[0]
    assert "2025-000123" in pages[0]


def test_print_batch_has_sheet_then_invoice_for_each_item_in_order():
    """A batch of two holds sheet 1, invoice 1's pages, sheet 2, invoice 2's pages, in order."""
    first = render_invoice_pdf(_invoice(n_lines=60))
    second = render_invoice_pdf(
        _invoice(n_lines=2, customer=OTHER_CUSTOMER, invoice_number="2025-000124")
    )
    first_pages = len(PdfReader(io.BytesIO(first)).pages)
    batch = render_print_batch(
        [
            (CUSTOMER, ISSUER, "2025-000123", first),
            (OTHER_CUSTOMER, ISSUER, "2025-000124", second),
        ]
    )
    pages = _pages_text(batch)
    assert len(pages) == 1 + first_pages + 1 + 1
    assert "Adresseark" in pages[0] and CUSTOMER.name in pages[0]
    assert all("2025-000123" in page for page in pages[1 : 1 + first_pages])
    assert "15 000,00 kr" in pages[first_pages]
    second_sheet = pages[1 + first_pages]
    assert "Adresseark" in second_sheet and OTHER_CUSTOMER.name in second_sheet
    assert "2025-000124" in pages[-1] and "FAKTURA" in pages[-1]
    assert "2 500,00 kr" in pages[-1]


def test_print_batch_refuses_empty_list():
    """An empty day's post gives no PDF."""
    with pytest.raises(ValueError):
        render_print_batch([])


@pytest.mark.parametrize(
    ("ore", "nb", "en"),
    [
        (0, "0,00 kr", "NOK 0.00"),
        (5, "0,05 kr", "NOK 0.05"),
        (100, "1,00 kr", "NOK 1.00"),
        (123450, "1 234,50 kr", "NOK 1,234.50"),
        (100000000, "1 000 000,00 kr", "NOK 1,000,000.00"),
        (-123450, "-1 234,50 kr", "-NOK 1,234.50"),
    ],
)
def test_format_money(ore, nb, en):
    """Øre are formatted Norwegian-style with no-break spaces, or English-style."""
    assert format_money(ore) == nb.replace(" ", NBSP)
    assert format_money(ore, "en") == en.replace(" ", NBSP)


def test_format_money_refuses_floats():
    """Money is integer øre only."""
    with pytest.raises(TypeError):
        format_money(12.5)


def test_format_account_number():
    """An 11-digit account number is grouped 4.2.5."""
    assert format_account_number("12345678903") == "1234.56.78903"


def test_every_language_of_the_pdf_has_every_label():
    """A label added in one language and not the others would fail only when that PDF is made."""
    from portal.invoices.pdf import LABELS

    keys = set(LABELS["nb"])
    assert {lang: set(labels) ^ keys for lang, labels in LABELS.items() if set(labels) != keys} == {}
