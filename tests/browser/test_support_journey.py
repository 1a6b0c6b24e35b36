"""Journey: support staff finds a consumer by mobile number and reads the timeline."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from simulators.bankid.persons import JONAS
from tests.browser import steps
from tests.browser.conftest import check_a11y, screen

pytestmark = pytest.mark.browser

SUPPORT_PASSWORD = "kundestotte-passord-2026"


def test_support_finds_the_consumer_by_mobile_and_sees_the_timeline(system, open_page):
    """A mobile typed with spaces finds the contact; its page shows the agreement, invoice and every event."""
    staff = open_page()
    issuer = steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=JONAS.name)
    number = steps.issue_invoice(staff, contact)
    phone = open_page(phone=True)
    steps.answer_consent(phone, system, contact, JONAS.national_id, "approve")

    email = f"support-{uuid.uuid4().hex[:6]}@efaktura.example"
    system.flask("create-support-user", "--email", email, "--name", "Sara Støtte",
                 "--password", SUPPORT_PASSWORD)
    support = open_page()
    support.goto(system.url("/kundestotte/"))
    expect(support.get_by_role("heading", level=1)).to_have_text("Logg inn i kundestøtte")
    check_a11y(support, "support login")
    support.get_by_label("E-post").fill(email)
    support.get_by_label("Passord").fill(SUPPORT_PASSWORD)
    support.get_by_role("button", name="Logg inn").click()
    expect(support.get_by_role("heading", level=1)).to_have_text("Søk")
    check_a11y(support, "support search")

    digits = contact.mobile[3:]
    support.get_by_role("searchbox").fill(f"{digits[:3]} {digits[3:5]} {digits[5:]}")
    support.get_by_role("button", name="Søk", exact=True).click()
    contacts = support.locator("section[aria-labelledby=grp-contacts]")
    expect(contacts).to_contain_text(issuer.name)
    check_a11y(support, "support search results")
    contacts.get_by_role("link", name=contact.name).click()

    expect(support.get_by_role("heading", level=1)).to_contain_text(contact.name)
    expect(support.locator("#agreement-title + p")).to_contain_text("aktiv")
    expect(support.locator("section[aria-labelledby=invoices-title]")).to_contain_text(number)
    timeline = support.locator("ol.timeline")
    expect(timeline).to_contain_text("bedriftsbruker")  # staff created the contact and the invoice
    expect(timeline).to_contain_text("forbruker")  # the consumer approved with BankID
    assert timeline.locator("li").count() >= 4
    check_a11y(support, "support contact with timeline")
    support.evaluate("document.getElementById('timeline-title').scrollIntoView()")
    screen(support, "support-timeline")
