"""Steps the journeys share: each one is what a person does on the pages, in Chromium.

Every step that lands on a new kind of page runs axe-core on it (``check_a11y``; each named
page once a run). Test data is new for every call (organisation number, e-mail, mobile), so
the journeys do not depend on each other.
"""
from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from stdnum.no import fodselsnummer, orgnr

from tests.browser.conftest import check_a11y

PASSWORD = "browser-passord-123"
ACCOUNT = "12345678903"
_rng = random.Random()


def new_org_number() -> str:
    """A valid organisation number (MOD11) nobody else in the run uses."""
    while True:
        base = [_rng.choice((8, 9))] + [_rng.randint(0, 9) for _ in range(7)]
        check = 11 - sum(w * d for w, d in zip((3, 2, 7, 6, 5, 4, 3, 2), base, strict=True)) % 11
        if check == 10:
            continue
        number = "".join(map(str, base)) + str(check % 11)
        if orgnr.is_valid(number):
            return number


def new_mobile() -> str:
    """A Norwegian mobile number in the stored form (+47 and eight digits)."""
    return "+479" + "".join(_rng.choice("0123456789") for _ in range(7))


def new_national_id() -> str:
    """A valid fødselsnummer of an adult (born 1950–1999) nobody else in the run uses."""
    for _ in range(1000):
        day, month, year = _rng.randint(1, 28), _rng.randint(1, 12), _rng.randint(50, 99)
        base = f"{day:02d}{month:02d}{year:02d}{_rng.randint(0, 499):03d}"
        first = fodselsnummer.calc_check_digit1(base)
        if len(first) != 1:
            continue
        second = fodselsnummer.calc_check_digit2(base + first)
        number = base + first + second
        if len(second) == 1 and fodselsnummer.is_valid(number):
            return number
    raise AssertionError("no valid fødselsnummer drawn")


@dataclass
class Issuer:
    name: str
    org_number: str
    email: str
    approver_email: str


@dataclass
class Contact:
    name: str
    mobile: str
    email: str
    customer_number: str


# -- the issuer ------------------------------------------------------------------------------


def sign_up(page: Page, system) -> Issuer:
    """A new issuer registers by org number, confirms the e-mail link and lands on its dashboard."""
    tag = uuid.uuid4().hex[:6]
    issuer = Issuer(name="Fjellstrøm Kraft AS", org_number=system.org_numbers.pop(),
                    email=f"okonomi-{tag}@fjellstrom.example", approver_email=f"leder-{tag}@fjellstrom.example")
    page.goto(system.url("/utsteder/registrer"))
    check_a11y(page, "issuer sign-up")
    page.get_by_label("Organisasjonsnummer").fill(issuer.org_number)
    page.get_by_label("Kontonummer for innbetalinger").fill(ACCOUNT)
    page.get_by_label("Ditt navn").fill("Ingrid Økonomi")
    page.get_by_label("Din e-post").fill(issuer.email)
    page.get_by_label("Passord", exact=True).fill(PASSWORD)
    page.get_by_label("Gjenta passordet").fill(PASSWORD)
    page.get_by_role("button", name="Registrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sjekk e-posten din")
    check_a11y(page, "issuer sign-up sent")
    rows = wait_for_mail(page, system, issuer.email, "email")
    open_message(page, rows)
    page.goto(link_in_message(page, "/utsteder/bekreft-epost/"))
    check_a11y(page, "confirm e-mail")
    page.get_by_role("button", name="Bekreft e-postadressen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(issuer.name)
    check_a11y(page, "issuer dashboard")
    return issuer


def activate_b2c(page: Page, system, issuer: Issuer) -> None:
    """Staff asks for B2C: gives the approver, reads the preview, confirms."""
    page.goto(system.url("/utsteder/b2c"))
    check_a11y(page, "B2C activation")
    page.get_by_label("Navn på den som godkjenner utstederavtalen").fill("Kari Nordmann")
    page.get_by_label("E-post til den som godkjenner").fill(issuer.approver_email)
    page.get_by_role("button", name="Gå videre til bekreftelse").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekreft aktivering av eFaktura B2C")
    # The preview says what happens to this issuer before anything is sent.
    expect(page.locator("#effect-third-party")).to_contain_text("ingen avtaler avsluttes")
    expect(page.locator("#effect-avtalegiro")).to_contain_text("AvtaleGiro")
    check_a11y(page, "B2C activation preview")
    page.get_by_label("Jeg har lest hva aktiveringen betyr").check()
    page.get_by_role("button", name="Send utstederavtalen til godkjenning").click()
    expect(page.get_by_role("heading", name="Venter på godkjenning")).to_be_visible()
    expect(page.locator("#agreement-banner")).to_contain_text("venter på godkjenning")
    check_a11y(page, "B2C awaiting approval")


def mailbox_rows(page: Page, system, recipient: str, kind: str | None = None):
    """Open the development mailbox filtered on one recipient; returns the message rows."""
    query = f"?til={recipient.replace('+', '%2B')}" + (f"&type={kind}" if kind else "")
    page.goto(system.url("/dev/postkasse" + query))
    return page.locator("table.table tbody tr")


def wait_for_mail(page: Page, system, recipient: str, kind: str | None = None, *, count: int = 1,
                  timeout: float = 15.0):
    """Reload the mailbox until ``count`` messages to ``recipient`` are there (the worker sends)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = mailbox_rows(page, system, recipient, kind)
        if rows.count() >= count:
            return rows
        system.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind or 'message'} to {recipient} in the mailbox after {timeout:.0f} s "
                                 f"(found {rows.count()})")
        time.sleep(0.3)


def open_message(page: Page, rows, n: int = 0) -> None:
    """Open message ``n`` (newest first) in the mailbox list."""
    rows.nth(n).locator("td").nth(3).get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Innhold")).to_be_visible()


def link_in_message(page: Page, path_part: str) -> str:
    link = page.locator(".message-body a", has_text=path_part).first
    expect(link).to_be_visible()
    return link.get_attribute("href")


def approve_issuer_agreement(page: Page, system, issuer: Issuer) -> None:
    """The approver opens the e-mail in the mailbox, follows the link, logs in with BankID as
    Kari Nordmann (daglig leder in the simulated register) and approves."""
    rows = wait_for_mail(page, system, issuer.approver_email, "email")
    check_a11y(page, "development mailbox")
    open_message(page, rows)
    check_a11y(page, "mailbox message")
    page.goto(link_in_message(page, "/utstederavtale/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Utstederavtale for eFaktura B2C")
    check_a11y(page, "approver page")
    page.get_by_role("link", name="Logg inn med BankID").click()
    bankid_login(page, "15058521431", a11y=False)
    expect(page.get_by_role("button", name="Avslå utstederavtalen")).to_be_visible()
    check_a11y(page, "approver page, logged in")
    page.get_by_role("button", name="Godkjenn utstederavtalen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Utstederavtalen er godkjent")
    check_a11y(page, "approver done")


def active_issuer(page: Page, system) -> Issuer:
    """Sign up, activate B2C and have the approver approve: an issuer ready for eFaktura."""
    issuer = sign_up(page, system)
    activate_b2c(page, system, issuer)
    # The approver is another person with a browser of their own (the BankID log-in starts a
    # fresh session, which in a shared browser would end the staff member's).
    approver_context = page.context.browser.new_context()
    approver = approver_context.new_page()
    approve_issuer_agreement(approver, system, issuer)
    approver_context.close()
    page.goto(system.url("/utsteder/b2c"))
    expect(page.locator(".notice-success")).to_contain_text("eFaktura B2C er aktivt")
    expect(page.locator("#approver-answer-receipt")).to_contain_text("Godkjent av Kari Nordmann")
    expect(page.locator("#agreement-banner")).to_have_count(0)
    check_a11y(page, "B2C active")
    return issuer


def fill_contact_form(page: Page, contact: Contact, *, kind: str = "Privatperson",
                      access_point: str = "B2CNO") -> None:
    page.get_by_label("Kundenummer").fill(contact.customer_number)
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("Navn", exact=True).fill(contact.name)
    page.get_by_label("Mobilnummer").fill(contact.mobile)
    page.get_by_label("E-post", exact=True).fill(contact.email)
    page.get_by_label("Adresse", exact=True).fill("Storgata 1")
    page.get_by_label("Postnummer").fill("0155")
    page.get_by_label("Poststed").fill("Oslo")
    page.get_by_label("Aksesspunkt").select_option(access_point)
    page.get_by_label("Motta eDokumenter").check()


def add_contact(page: Page, system, *, name: str = "Kari Nordmann", email: str | None = None,
                with_email: bool = True) -> Contact:
    """Staff registers a private person who can receive eFaktura."""
    tag = uuid.uuid4().hex[:6]
    contact = Contact(name=name, mobile=new_mobile(),
                      email=(email or f"kunde-{tag}@example.no") if with_email else "",
                      customer_number=str(_rng.randint(10000, 99999)))
    page.goto(system.url("/utsteder/kontakter/ny"))
    check_a11y(page, "new contact")
    fill_contact_form(page, contact)
    page.get_by_role("button", name="Lagre kontakten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(contact.name)
    check_a11y(page, "contact")
    return contact


def issue_invoice(page: Page, contact: Contact, amount: str = "1 250,00") -> str:
    """From the contact's page: a new invoice with one line, saved and sent. Returns its number."""
    page.get_by_role("link", name="Ny faktura").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ny faktura til {contact.name}")
    check_a11y(page, "new invoice")
    number = page.get_by_label("Fakturanummer").input_value()
    page.get_by_label("Beskrivelse (linje 1)").fill("Strøm, oktober")
    page.get_by_label("Antall (linje 1)").fill("1")
    page.get_by_label("Pris per enhet (kr, eks. mva.) (linje 1)").fill(amount)
    page.get_by_role("button", name="Lagre og send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Faktura {number}")
    check_a11y(page, "invoice")
    return number


def back_to_contact(page: Page, contact: Contact) -> None:
    page.locator("dl.details").get_by_role("link", name=contact.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(contact.name)


# -- the consumer ----------------------------------------------------------------------------


def consent_link_from_sms(page: Page, system, contact: Contact) -> str:
    rows = wait_for_mail(page, system, contact.mobile, "sms")
    open_message(page, rows)
    return link_in_message(page, "/s/")


def bankid_login(page: Page, national_id: str, *, a11y: bool = True, screen_name: str | None = None) -> None:
    """Log in on the simulated BankID pages: number, one-time code, password."""
    from tests.browser.conftest import screen

    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn med BankID")
    if a11y:
        check_a11y(page, "BankID: national identity number")
    if screen_name:
        screen(page, screen_name)
    page.get_by_label("Fødselsnummer").fill(national_id)
    page.get_by_role("button", name="Neste").click()
    page.get_by_label("Engangskode").fill("123456")
    if a11y:
        check_a11y(page, "BankID: one-time code")
    page.get_by_role("button", name="Neste").click()
    page.get_by_label("Personlig passord").fill("qwer1234")
    if a11y:
        check_a11y(page, "BankID: password")
    page.get_by_role("button", name="Logg inn").click()


def wait_for(page: Page, url: str, locate, what: str, timeout: float = 10.0, system=None):
    """Reload ``url`` until ``locate(page)`` finds something (the worker works in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        found = locate(page)
        if found.count():
            return found
        if system is not None:
            system.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not show on {url} within {timeout:.0f} s")
        time.sleep(0.3)


def nettbank_card(page: Page, number: str):
    """The nettbank card of invoice ``number``."""
    return page.locator(".card").filter(has=page.locator("dd").filter(has_text=re.compile(rf"^\s*{number}\s*$")))


def sent_row(page: Page, number: str):
    """The row of invoice ``number`` in Sent documents."""
    return page.locator("#sent tbody tr").filter(has=page.get_by_role("rowheader", name=number, exact=True))




def answer_consent(phone: Page, system, contact: Contact, national_id: str, decision: str, *,
                   screens: bool = False) -> None:
    """The consumer opens the SMS link, logs in with BankID and approves or declines."""
    from tests.browser.conftest import screen

    phone.goto(consent_link_from_sms(phone, system, contact))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("vil sende deg eFaktura")
    check_a11y(phone, "consent landing")
    if screens:
        screen(phone, "consent-phone")
    choice = "Ja, jeg vil ha eFaktura" if decision == "approve" else "Nei takk"
    phone.get_by_role("link", name=choice).click()
    bankid_login(phone, national_id, screen_name="bankid-phone" if screens else None)
    heading = "Dette godtar du" if decision == "approve" else "Dette takker du nei til"
    expect(phone.get_by_role("heading", name=heading)).to_be_visible()
    check_a11y(phone, f"consent confirm ({decision})")
    button = "Godta eFaktura" if decision == "approve" else "Avslå eFaktura"
    # The answer chosen on the landing page is the first (primary) button on the confirm page.
    expect(phone.locator("form button.button").first).to_have_text(button)
    phone.get_by_role("button", name=button, exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Kvittering for eFaktura")
    check_a11y(phone, "consent receipt")


def fetch_pdf(page: Page, href: str) -> bytes:
    """Download a PDF the page links to, with the page's cookies; it must really be a PDF."""
    response = page.request.get(href if href.startswith("http") else page.url.split("/", 3)[:3][0]
                                + "//" + page.url.split("/", 3)[2] + href)
    assert response.ok, f"{href} answered {response.status}"
    body = response.body()
    assert body.startswith(b"%PDF"), f"{href} is not a PDF"
    return body


_FOCUSED_NAME = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "";
  const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
  return (e.getAttribute("aria-label") || label || e.innerText || e.value || "").trim();
}"""


def tab_to(page: Page, name: str | re.Pattern, max_tabs: int = 60) -> None:
    """Press Tab until the focused element's name matches (as a keyboard user moves through a page)."""
    pattern = name if isinstance(name, re.Pattern) else re.compile(rf"^{re.escape(name)}$")
    seen = []
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED_NAME)
        seen.append(focused)
        if pattern.search(focused):
            return
    raise AssertionError(f"Tab never reached {pattern.pattern!r} on {page.url}; focus went through {seen}")
