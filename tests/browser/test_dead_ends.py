"""Journeys that used to end in a dead end: a failed post delivery the issuer could not send
again, and a "Nei takk" whose confirm page read like a yes."""
from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.conftest import check_a11y

pytestmark = pytest.mark.browser


def test_issuer_sends_a_failed_invoice_again_after_fixing_the_contact(system, open_page):
    """A contact with neither e-mail nor postal address is warned about; the invoice fails in the
    post; the issuer adds an e-mail address and sends the invoice again from its page."""
    page = open_page()
    steps.sign_up(page, system)  # not active: the invoice goes by e-mail or post at once
    name = "Ola Uten Adresse"
    page.goto(system.url("/utsteder/kontakter/ny"))
    page.get_by_label("Kundenummer").fill(uuid.uuid4().hex[:8])
    page.get_by_label("Privatperson", exact=True).check()
    page.get_by_label("Navn", exact=True).fill(name)
    page.get_by_label("Mobilnummer").fill(steps.new_mobile())
    page.get_by_role("button", name="Lagre kontakten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("#unreachable")).to_contain_text("verken e-post eller full postadresse")
    check_a11y(page, "contact that cannot be reached")
    page.get_by_role("link", name="Ny faktura").click()
    expect(page.locator("#unreachable")).to_be_visible()
    number = page.get_by_label("Fakturanummer").input_value()
    page.get_by_label("Beskrivelse (linje 1)").fill("Snekkerarbeid")
    page.get_by_label("Pris per enhet (kr, eks. mva.) (linje 1)").fill("1 000")
    page.get_by_role("button", name="Lagre og send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Faktura {number}")
    deadline = time.monotonic() + 30
    while "Sendingen feilet" not in page.locator("#what-happened").inner_text():
        assert time.monotonic() < deadline, "the post delivery did not fail"
        system.check_alive()
        time.sleep(0.5)
        page.reload()
    expect(page.locator("#send-again")).to_contain_text("Legg inn en av dem")
    check_a11y(page, "failed invoice")
    page.locator("#send-again").get_by_role("link", name="Endre kontakten").click()
    page.get_by_label("E-post", exact=True).fill(f"ola-{uuid.uuid4().hex[:6]}@example.no")
    page.get_by_role("button", name="Lagre kontakten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("link", name=number, exact=True).click()
    page.get_by_role("button", name="Send fakturaen på nytt").click()
    expect(page.locator(".flashes")).to_contain_text("sendes på nytt på e-post")
    expect(page.locator("#history")).to_contain_text("Prøvd på nytt")
    deadline = time.monotonic() + 30
    while "Sendt på e-post" not in page.locator("#what-happened").inner_text():
        assert time.monotonic() < deadline, "the invoice was not sent by e-mail"
        time.sleep(0.5)
        page.reload()


def test_issuer_who_forgot_the_password_gets_back_in(system, open_page):
    """"Glemt passord?" on the log-in page, the same answer for any address, a link by e-mail, a
    new password, and a log-in with it."""
    page = open_page()
    issuer = steps.sign_up(page, system)
    page.get_by_role("button", name="Logg ut").click()
    page.goto(system.url("/utsteder/logg-inn"))
    page.get_by_role("link", name="Glemt passord?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Glemt passord")
    check_a11y(page, "forgotten password")
    page.get_by_label("E-post").fill(issuer.email)
    page.get_by_role("button", name="Send lenke").click()
    expect(page.locator("#password-forgot-sent")).to_contain_text("Hvis e-postadressen er registrert")
    check_a11y(page, "forgotten password sent")
    rows = steps.wait_for_mail(page, system, issuer.email, "email", count=2)
    steps.open_message(page, rows)
    page.goto(steps.link_in_message(page, "/utsteder/nytt-passord/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lag et nytt passord")
    check_a11y(page, "new password")
    new = "et-nytt-passord-fra-lenken"
    page.get_by_label("Nytt passord").fill(new)
    page.get_by_label("Gjenta det nye passordet").fill(new)
    page.get_by_role("button", name="Lagre nytt passord").click()
    expect(page.locator(".flashes")).to_contain_text("Logg inn med det nye passordet")
    page.get_by_label("E-post").fill(issuer.email)
    page.get_by_label("Passord", exact=True).fill(new)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(issuer.name)
