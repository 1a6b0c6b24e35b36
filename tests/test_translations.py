"""The English catalogue: complete, current with the source, and used by pages and messages.

Bokmål is the source language, so every text a user can see is a msgid; English comes from
portal/translations/en/LC_MESSAGES/messages.po. The .mo is built by ``make``; here a
session fixture compiles it from the .po so the tests never depend on ``make`` having run.
"""
from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.core.outbox import OutboxKind, OutboxMessage
from tests.factories import make_contact, make_invoice, make_issuer

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "portal" / "translations"
LC_MESSAGES = TRANSLATIONS / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "messages.po"
MO = LC_MESSAGES / "messages.mo"

# %(name)s, %(num)d ... exactly as Flask-Babel fills them in.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def read_catalogue(path: Path = PO):
    with path.open("rb") as fh:
        return read_po(fh, locale="en")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def forms(value) -> tuple[str, ...]:
    """msgid/msgstr as a tuple: one element, or the singular and plural forms."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@pytest.fixture(scope="session")
def catalogue():
    assert PO.exists(), f"{PO.relative_to(ROOT)} is missing; create it with `make messages`"
    return read_catalogue()


@pytest.fixture(scope="session")
def compiled_catalogue(catalogue):
    """Compile the .po into the .mo next to it (atomically: parallel workers may do the same)."""
    fd, tmp = tempfile.mkstemp(dir=LC_MESSAGES, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalogue)
        os.replace(tmp, MO)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return catalogue


def translation_of(catalogue, msgid: str) -> str:
    message = catalogue.get(msgid)
    assert message is not None, f"{msgid!r} is not in the catalogue"
    return message.string


# --- (a) complete ---------------------------------------------------------------------------

def test_every_message_is_translated_and_none_is_fuzzy(catalogue):
    """No empty msgstr (in any plural form) and no fuzzy entry: every text has its English."""
    entries = [m for m in catalogue if m.id]
    assert len(entries) > 100, "the catalogue is suspiciously small"
    empty = [m.id for m in entries if not all(s.strip() for s in forms(m.string))]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not (empty or fuzzy), ("untranslated:\n" + "\n".join(map(repr, empty))
                                  + "\nfuzzy:\n" + "\n".join(map(repr, fuzzy)))


def test_plural_entries_have_both_english_forms(catalogue):
    assert catalogue.num_plurals == 2
    for m in catalogue:
        if m.id and m.pluralizable:
            assert len(forms(m.string)) == 2, m.id


def test_placeholders_are_kept(catalogue):
    """The names in %(x)s are the same in msgid and msgstr (per plural form)."""
    wrong = []
    for m in catalogue:
        if not m.id:
            continue
        ids, strings = forms(m.id), forms(m.string)
        for i, text in enumerate(strings):
            source = ids[min(i, len(ids) - 1)]
            if placeholders(text) != placeholders(source):
                wrong.append(f"{source!r}\n  -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


# --- (b) current ----------------------------------------------------------------------------

def test_catalogue_has_every_string_in_the_source(catalogue, tmp_path):
    """Extract afresh, as `make messages` does: a new text without a translation fails here."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext", "-k", "N_",
        "--no-location", "--sort-by-file", "-o", str(pot), str(ROOT),
    ])
    extracted = read_catalogue(pot)
    known = {forms(m.id)[0]: m for m in catalogue if m.id}
    source = [m for m in extracted if m.id]
    assert len(source) > 100, "extraction found almost nothing; is babel.cfg right?"
    missing = [m.id for m in source if forms(m.id)[0] not in known]
    assert not missing, (
        f"{len(missing)} text(s) are not in {PO.relative_to(ROOT)}; run `make messages` and translate:\n"
        + "\n".join(map(repr, missing)))
    plural_changed = [m.id for m in source if forms(known[forms(m.id)[0]].id) != forms(m.id)]
    assert not plural_changed, "singular/plural pair changed:\n" + "\n".join(map(repr, plural_changed))


# --- (c) pages ------------------------------------------------------------------------------

def _h1(page: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.DOTALL)
    assert match, "the page has no <h1>"
    return html.unescape(match.group(1)).strip()


def test_home_page_in_english(compiled_catalogue, client):
    heading = translation_of(compiled_catalogue, "eFaktura rett i nettbanken")
    assert heading and heading != "eFaktura rett i nettbanken"
    response = client.get("/?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert _h1(page) == heading
    assert translation_of(compiled_catalogue, "Logg inn med BankID") in html.unescape(page)
    # The choice is kept for the next page without ?lang=.
    assert _h1(client.get("/").get_data(as_text=True)) == heading


def test_home_page_in_bokmal_by_default(compiled_catalogue, app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert _h1(page) == "eFaktura rett i nettbanken"


# --- (d) messages to a contact --------------------------------------------------------------

def _consent_sms_text(contact_id: int, session) -> str:
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS,
                                                      OutboxMessage.contact_id == contact_id)).one()
    return row.payload["text"]


def test_consent_sms_follows_the_contacts_language(compiled_catalogue, db_session):
    """Issuing an invoice to an eligible contact asks for consent by SMS, in the contact's language."""
    source = ("%(issuer)s vil sende deg eFaktura i nettbanken. Svar med BankID: %(url)s Svarer du ikke, "
              "kommer fakturaen som før.")
    english = translation_of(compiled_catalogue, source)
    issuer = make_issuer(name="Fjordkraft Test AS")
    en_contact = make_contact(issuer, language="en", mobile="+4791234567")
    nb_contact = make_contact(issuer, language="nb", mobile="+4791234568", email="ola@example.no")
    make_invoice(issuer, en_contact)
    make_invoice(issuer, nb_contact)
    db_session.flush()

    text = _consent_sms_text(en_contact.id, db_session)
    head, tail = english.split("%(url)s")
    assert text.startswith(head % {"issuer": issuer.name}), text
    assert text.endswith(tail.strip()), text
    assert "Svar med BankID" not in text

    norsk = _consent_sms_text(nb_contact.id, db_session)
    assert norsk.startswith(f"{issuer.name} vil sende deg eFaktura i nettbanken"), norsk


def test_stored_delivery_reasons_are_shown_in_the_readers_language(app, compiled_catalogue):
    """A failure reason stored in bokmål reads in English for an English reader; an unknown
    text (e.g. a mail server's own words) is shown as it came."""
    from portal.core.formatting import translated

    reason = "Kontakten har ingen fullstendig postadresse (adresse, postnummer og sted); legg den inn og send fakturaen på nytt."
    with app.test_request_context("/?lang=en"):
        assert translated(reason).startswith("The contact has no complete postal address")
        assert translated("SMTP 550 5.1.1 mailbox unavailable") == "SMTP 550 5.1.1 mailbox unavailable"
    with app.test_request_context("/"):
        assert translated(reason) == reason
