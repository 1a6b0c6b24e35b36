"""Journey: bad input on the contact form shows the error summary and saves nothing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.conftest import check_a11y

pytestmark = pytest.mark.browser


def test_bad_contact_input_shows_the_error_summary_and_saves_nothing(system, open_page):
    """A mobile without +47, and B2CNO on a company, are refused with a linked error summary; no contact is saved."""
    page = open_page()
    steps.sign_up(page, system)
    page.goto(system.url("/utsteder/kontakter/ny"))

    person = steps.Contact(name="Kari Nordmann", mobile="91234567", email="kari@example.no",
                           customer_number="10001")
    steps.fill_contact_form(page, person)
    page.get_by_role("button", name="Lagre kontakten").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("+47")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(page.get_by_label("Mobilnummer")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Mobilnummer")).to_have_value("91234567")  # what was typed is kept
    check_a11y(page, "new contact: bad mobile")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Mobilnummer")).to_be_focused()

    company = steps.Contact(name="Byggmester Berg AS", mobile="+4791234567", email="faktura@berg.example",
                            customer_number="20001")
    steps.fill_contact_form(page, company, kind="Bedrift", access_point="B2CNO")
    page.get_by_role("button", name="Lagre kontakten").click()
    expect(page.locator(".error-summary")).to_contain_text("organisasjonsnummer")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ny kontakt")
    check_a11y(page, "new contact: B2CNO on a company")

    page.goto(system.url("/utsteder/kontakter/"))
    expect(page.get_by_text("Ingen kontakter funnet.")).to_be_visible()
    check_a11y(page, "contacts")
