"""Journey: the consent path works with the keyboard alone (Tab, Enter, Space; no clicks)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from simulators.bankid.persons import ALI
from tests.browser import steps

pytestmark = pytest.mark.browser


def test_consent_with_the_keyboard_alone(system, open_page):
    """From the SMS link through BankID to approval and nettbank, every control is reached with Tab and used with Enter or Space."""
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=ALI.name)
    number = steps.issue_invoice(staff, contact)
    link = steps.consent_link_from_sms(staff, system, contact)

    page = open_page()
    keys = page.keyboard
    page.goto(link)
    steps.tab_to(page, "Hopp til innholdet")  # the first stop is the skip link
    steps.tab_to(page, "Ja, jeg vil ha eFaktura")
    keys.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn med BankID")
    if not page.evaluate("document.activeElement.id === 'nnin'"):
        steps.tab_to(page, "Fødselsnummer")
    keys.type(ALI.national_id)
    steps.tab_to(page, "Neste")
    keys.press("Enter")
    expect(page.get_by_label("Engangskode")).to_be_visible()
    if not page.evaluate("document.activeElement.id === 'otp'"):
        steps.tab_to(page, "Engangskode")
    keys.type("123456")
    steps.tab_to(page, "Neste")
    keys.press("Enter")
    expect(page.get_by_label("Personlig passord")).to_be_visible()
    if not page.evaluate("document.activeElement.id === 'password'"):
        steps.tab_to(page, "Personlig passord")
    keys.type("qwer1234")
    steps.tab_to(page, "Logg inn")
    keys.press("Enter")

    expect(page.get_by_role("heading", name="Dette godtar du")).to_be_visible()
    steps.tab_to(page, "Godta eFaktura")
    keys.press("Space")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kvittering for eFaktura")

    steps.tab_to(page, "Nettbank")
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("eFaktura i nettbanken")
    steps.wait_for(page, page.url, lambda p: steps.nettbank_card(p, number), f"invoice {number}",
                   system=system)
    steps.tab_to(page, re.compile(rf"Åpne faktura {number}\b"))
    with page.expect_response(re.compile(r"/nettbank/\d+/pdf")) as response:
        keys.press("Enter")
    assert response.value.ok and response.value.header_value("content-type") == "application/pdf"
