"""eFaktura 2.0 in the browser: "yes to all" in the nettbank brings the first invoice there without
an SMS; blocking the issuer sends the next one by e-mail."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.conftest import check_a11y

pytestmark = pytest.mark.browser

# The simulated BankID names every person outside its list of test persons like this.
ANY_PERSON = "Test Testperson"


def test_yes_to_all_then_block_the_issuer(system, open_page):
    """Yes to all: the first invoice lands in the nettbank with no SMS; after a block the next one is e-mailed."""
    staff = open_page()
    issuer = steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=ANY_PERSON)

    # The consumer keeps the mobile in the bank's profile and says yes to eFaktura from all.
    phone = open_page(phone=True)
    phone.goto(system.url("/nettbank/efaktura"))
    steps.bankid_login(phone, steps.new_national_id(), a11y=False)
    expect(phone.get_by_role("heading", level=1)).to_have_text("eFaktura-innstillinger")
    check_a11y(phone, "nettbank eFaktura settings")
    phone.get_by_label("Mobilnummer eller e-postadresse").fill(contact.mobile.replace("+47", "+47 "))
    phone.get_by_role("button", name="Legg til").click()
    expect(phone.locator(".error-summary")).to_contain_text("+47 og åtte sifre")  # shown the expected form
    check_a11y(phone, "nettbank profile error")
    phone.get_by_label("Mobilnummer eller e-postadresse").fill(contact.mobile)
    phone.get_by_role("button", name="Legg til").click()
    expect(phone.locator("#profile")).to_contain_text(contact.mobile[3:6])
    phone.get_by_role("button", name="Si ja til eFaktura fra alle").click()
    expect(phone.locator("#general-consent")).to_contain_text("På")
    expect(phone.get_by_role("button", name="Trekk tilbake ja til alle")).to_be_visible()
    expect(phone.locator("#receipts")).to_contain_text("Ja til eFaktura fra alle")

    # The issuer sees the route before sending, and the first invoice goes straight to the nettbank.
    staff.goto(system.url("/utsteder/kontakter/"))
    staff.get_by_role("link", name=contact.name).first.click()
    expect(staff.locator("#route")).to_contain_text("generelt samtykke i nettbanken")
    check_a11y(staff, "contact with route")
    first = steps.issue_invoice(staff, contact)
    expect(staff.locator("#what-happened")).to_contain_text(re.compile("nettbanken"))
    card = steps.wait_for(phone, system.url("/nettbank"), lambda p: steps.nettbank_card(p, first),
                          f"invoice {first}", system=system)
    expect(card).to_contain_text("1 562,50")
    assert steps.mailbox_rows(phone, system, contact.mobile, "sms").count() == 0  # no SMS at all
    assert steps.mailbox_rows(phone, system, contact.email, "email").count() == 0  # no consent e-mail
    staff.goto(system.url("/utsteder/sendte"))
    expect(steps.sent_row(staff, first)).to_contain_text("generelt samtykke i nettbanken")

    # The consumer blocks the issuer; its next invoice comes by e-mail, still without any SMS.
    phone.goto(system.url("/nettbank/efaktura"))
    expect(phone.locator("#issuers")).to_contain_text(issuer.name)
    phone.get_by_role("button", name=f"Sperr eFaktura fra {issuer.name}").click()
    expect(phone.locator(".flashes")).to_contain_text("Du får ikke lenger eFaktura")
    check_a11y(phone, "nettbank issuer blocked")

    staff.goto(system.url("/utsteder/kontakter/"))
    staff.get_by_role("link", name=contact.name).first.click()
    expect(staff.locator("#route")).to_contain_text("Kunden mottar ikke eFaktura fra dere")
    second = steps.issue_invoice(staff, contact, amount="480,00")
    steps.wait_for_mail(phone, system, contact.email, "email", count=1)
    assert steps.mailbox_rows(phone, system, contact.mobile, "sms").count() == 0
    staff.goto(system.url("/utsteder/sendte"))
    expect(steps.sent_row(staff, second)).to_contain_text("Sendt på e-post")
