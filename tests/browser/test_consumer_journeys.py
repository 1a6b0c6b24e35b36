"""Journeys of the consumer: consent on a phone with BankID, nettbank, declining, no answer."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from simulators.bankid.persons import JONAS, KARI
from tests.browser import steps
from tests.browser.conftest import check_a11y, screen

pytestmark = pytest.mark.browser


def test_consumer_approves_on_a_phone_and_gets_invoices_in_nettbank(system, open_page):
    """Approving from the SMS link delivers the held invoice and every later one to nettbank, with no new SMS."""
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=KARI.name)
    first = steps.issue_invoice(staff, contact)
    expect(staff.locator("#what-happened")).to_contain_text("Holdt tilbake")

    phone = open_page(phone=True)
    steps.answer_consent(phone, system, contact, KARI.national_id, "approve", screens=True)
    expect(phone.locator(".notice-success")).to_contain_text("kommer nå i nettbanken din")

    card = steps.wait_for(phone, system.url("/nettbank"), lambda p: steps.nettbank_card(p, first),
                          f"invoice {first}", system=system)
    expect(card).to_contain_text("1 562,50")  # 1 250,00 + 25 % mva.
    check_a11y(phone, "nettbank")
    screen(phone, "nettbank-phone")
    steps.fetch_pdf(phone, card.get_by_role("link", name=re.compile("Åpne faktura")).get_attribute("href"))

    # A later invoice goes straight to nettbank: no new consent, no second SMS.
    steps.back_to_contact(staff, contact)
    second = steps.issue_invoice(staff, contact, amount="480,00")
    card = steps.wait_for(phone, system.url("/nettbank"), lambda p: steps.nettbank_card(p, second),
                          f"invoice {second}", system=system)
    expect(card).to_contain_text("600,00")
    assert steps.mailbox_rows(phone, system, contact.mobile, "sms").count() == 1
    assert steps.mailbox_rows(phone, system, contact.email, "email").count() == 1  # the consent request

    staff.goto(system.url("/utsteder/sendte"))
    for number in (first, second):
        expect(steps.sent_row(staff, number)).to_contain_text("Levert i nettbank")
    check_a11y(staff, "Sent documents")
    screen(staff, "sent-documents")
    staff.goto(system.url("/utsteder/"))
    check_a11y(staff, "issuer dashboard with invoices")
    screen(staff, "issuer-dashboard")


def test_consumer_declines_and_the_invoice_comes_by_email(system, open_page):
    """Declining sends the held invoice by e-mail with the PDF at once, and the issuer sees it e-mailed."""
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=JONAS.name)
    number = steps.issue_invoice(staff, contact)

    phone = open_page(phone=True)
    steps.answer_consent(phone, system, contact, JONAS.national_id, "decline")
    expect(phone.locator(".notice-success")).to_contain_text("kommer på e-post eller i posten")

    # The consent request's e-mail came first; the invoice follows it.
    rows = steps.wait_for_mail(phone, system, contact.email, "email", count=2)
    assert_invoice_email(phone, rows, number)
    staff.goto(system.url("/utsteder/sendte"))
    expect(steps.sent_row(staff, number)).to_contain_text("Sendt på e-post")


def test_someone_else_opening_the_link_sees_it_was_meant_for_another(system, open_page):
    """Kari answering Åse's link sees "meant for someone else" (accessible); nothing is saved and the issuer sees it."""
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name="Åse Øvrebø")
    steps.issue_invoice(staff, contact)

    phone = open_page(phone=True)
    phone.goto(steps.consent_link_from_sms(phone, system, contact))
    expect(phone.locator("#issuer-id")).to_contain_text("organisasjonsnummer")
    phone.get_by_role("link", name="Ja, jeg vil ha eFaktura").click()
    steps.bankid_login(phone, KARI.national_id, a11y=False)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Denne invitasjonen var ment for en annen")
    expect(phone.locator("#not-for-you")).to_contain_text("Ingenting er lagret.")
    expect(phone.get_by_role("button", name="Godta eFaktura")).to_have_count(0)
    check_a11y(phone, "consent meant for someone else")
    screen(phone, "consent-not-for-you-phone")

    steps.back_to_contact(staff, contact)
    expect(staff.locator("#answered-by-others")).to_contain_text("Besvart av en annen person")
    expect(staff.locator("#efaktura-state")).to_contain_text("Spurt om samtykke")


def test_consumer_reads_the_consent_page_in_nynorsk(system, open_page):
    """The switch on the consent page gives nynorsk (lang="nn", accessible), kept on the next
    visit to the link; a staff page in the same browser stays bokmål with lang="nb"."""
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name=KARI.name)
    steps.issue_invoice(staff, contact)

    phone = open_page(phone=True)
    phone.goto(steps.consent_link_from_sms(phone, system, contact))
    phone.get_by_role("link", name="Norsk (nynorsk)").click()
    expect(phone.locator("html")).to_have_attribute("lang", "nn")
    expect(phone.get_by_role("link", name="Ja, eg vil ha eFaktura")).to_be_visible()
    check_a11y(phone, "consent landing in nynorsk")
    phone.goto(phone.url.split("?")[0])
    expect(phone.locator("html")).to_have_attribute("lang", "nn")
    expect(phone.get_by_role("link", name="Norsk (bokmål)")).to_have_attribute("lang", "nb")
    phone.goto(system.url("/utsteder/logg-inn"))
    expect(phone.locator("html")).to_have_attribute("lang", "nb")
    expect(phone.get_by_role("link", name="Norsk (nynorsk)")).to_have_count(0)


def test_no_answer_within_the_deadline_sends_the_invoice_by_email(fallback_system, open_page):
    """With no answer before the (shortened) three-day deadline, the invoice is e-mailed with its PDF."""
    system = fallback_system
    staff = open_page()
    steps.active_issuer(staff, system)
    contact = steps.add_contact(staff, system, name="Ola Nordmann")
    number = steps.issue_invoice(staff, contact)
    expect(staff.locator("#what-happened")).to_contain_text("sendes den på e-post")

    mailbox = open_page()
    # The consent request went out (one SMS and one e-mail) and nobody answers it.
    steps.wait_for_mail(mailbox, system, contact.mobile, "sms")
    rows = steps.wait_for_mail(mailbox, system, contact.email, "email", count=2, timeout=30)
    assert_invoice_email(mailbox, rows, number)
    staff.goto(system.url("/utsteder/sendte"))
    expect(steps.sent_row(staff, number)).to_contain_text("Sendt på e-post")


def assert_invoice_email(page, rows, number: str) -> None:
    """The newest e-mail in the list carries the invoice as a PDF attachment."""
    newest = rows.first
    expect(newest).to_contain_text("Vedlegg")
    steps.open_message(page, rows)
    expect(page.locator(".message-body")).to_contain_text(number)
    attachment = page.locator("dl.card a[download]")
    expect(attachment).to_have_text(f"faktura-{number}.pdf")
    steps.fetch_pdf(page, attachment.get_attribute("href"))
