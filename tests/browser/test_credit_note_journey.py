"""The issuer corrects a sent invoice with credit notes: part of it, then the rest."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.conftest import check_a11y

pytestmark = pytest.mark.browser


def test_issuer_credits_part_of_an_invoice_then_the_rest(system, open_page):
    page = open_page()
    steps.sign_up(page, system)  # not active: the invoice goes by e-mail at once
    contact = steps.add_contact(page, system, name="Kari Kreditt")
    number = steps.issue_invoice(page, contact, amount="1 000")
    deadline = time.monotonic() + 30
    while "Sendt på e-post" not in page.locator("#what-happened").inner_text():
        assert time.monotonic() < deadline, "the invoice was not sent by e-mail"
        system.check_alive()
        time.sleep(0.5)
        page.reload()
    expect(page.locator("#creditable")).to_have_text("1\u00a0250,00\u00a0kr")
    page.get_by_role("link", name="Krediter", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Krediter faktura {number}")
    check_a11y(page, "credit an invoice")
    # half of the line without a reason: the message is at the field
    page.get_by_label("Antall som krediteres (Strøm, oktober)").fill("0,5")
    page.get_by_role("button", name="Lag kreditnota").click()
    expect(page.locator(".field.has-error")).to_contain_text("Skriv hvorfor fakturaen krediteres")
    check_a11y(page, "credit with errors")
    page.get_by_label("Antall som krediteres (Strøm, oktober)").fill("0,5")
    page.get_by_label("Årsak").fill("Feil måleravlesning")
    page.get_by_role("button", name="Lag kreditnota").click()
    expect(page.locator(".flashes")).to_contain_text("sendes til kunden på e-post")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kreditnota")
    expect(page.locator("#credits-invoice")).to_contain_text("Feil måleravlesning")
    check_a11y(page, "credit note")
    page.locator("#credits-invoice").get_by_role("link").click()
    expect(page.locator("#creditable")).to_have_text("625,00\u00a0kr")
    page.get_by_role("link", name="Krediter", exact=True).click()
    page.get_by_role("button", name="Bekreft: krediter 625,00\u00a0kr").click()
    page.locator("#credits-invoice").get_by_role("link").click()
    expect(page.locator("#credit-refusal")).to_contain_text("allerede kreditert i sin helhet")
    expect(page.locator("#credit-notes tbody tr")).to_have_count(2)
