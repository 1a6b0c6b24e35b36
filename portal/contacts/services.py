"""Contacts: the rules for one contact (form and CSV alike), saving, search, and CSV import."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.contacts.models import ACCESS_POINT_B2C, ACCESS_POINTS, Contact, ContactKind
from portal.core import events, pagination
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.formatting import oslo_today
from portal.core.identifiers import (
    InvalidIdentifier,
    normalize_mobile,
    parse_mobile_loose,
    validate_org_number,
)
from portal.core.text import MSG_CONTROL, has_control

FIELDS = ("customer_number", "kind", "name", "org_number", "mobile", "email", "address_line",
          "postal_code", "city", "language", "access_point", "receive_edocuments", "birth_date")
# The languages a contact reads the SMS, e-mails and invoice PDF in.
LANGUAGES = ("nb", "nn", "en")

_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
MSG_BIRTH_DATE = _l("Skriv fødselsdatoen som dd.mm.åååå, for eksempel 15.05.1985.")
MSG_BIRTH_DATE_FUTURE = _l("Fødselsdatoen kan ikke være fram i tid.")
MSG_BIRTH_DATE_COMPANY = _l("En bedrift har ikke fødselsdato. La feltet stå tomt.")

MSG_B2C_COMPANY = _l(
    "B2CNO (eFaktura til privatpersoner) kan bare velges for en privatperson. Denne kontakten er en "
    "bedrift, og for en bedrift mangler organisasjonsnummer for eFaktura B2C. Velg typen privatperson, "
    "eller velg EHF eller «ingen» som aksesspunkt.")


class ContactError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def mobile_message(exc: InvalidIdentifier) -> str:
    """The mobile rule's message, with the stored form to copy when the input was understood."""
    text = str(exc.message)
    if exc.suggestion:
        text += " " + str(_l("Mente du %(suggestion)s? Skriv det slik, så lagres det.", suggestion=exc.suggestion))
    return text


def parse_birth_date(value) -> dt.date:
    """A birth date written dd.mm.åååå (or åååå-mm-dd); raises ValueError with the message to show."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        for fmt in _DATE_FORMATS:
            try:
                day = dt.datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise ValueError(str(MSG_BIRTH_DATE))
    if day > oslo_today():
        raise ValueError(str(MSG_BIRTH_DATE_FUTURE))
    if day.year < 1900:
        raise ValueError(str(MSG_BIRTH_DATE))
    return day


def validate_contact(data: dict) -> tuple[dict, dict[str, str]]:
    """Check one contact's fields. Returns the cleaned values and a message per wrong field.

    Nothing is changed silently: a mobile written with spaces is refused with a suggestion."""
    clean: dict = {}
    errors: dict[str, str] = {}

    def text(name: str, limit: int) -> str:
        value = str(data.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = str(_l("Høyst %(n)s tegn.", n=limit))
        return value

    clean["customer_number"] = text("customer_number", 30)
    if not clean["customer_number"]:
        errors["customer_number"] = str(_l("Skriv et kundenummer."))
    kind = data.get("kind")
    if isinstance(kind, ContactKind):
        kind = kind.value
    if kind not in ("person", "company"):
        errors["kind"] = str(_l("Velg privatperson eller bedrift."))
        clean["kind"] = None
    else:
        clean["kind"] = ContactKind(kind)
    clean["name"] = text("name", 200)
    if not clean["name"]:
        errors["name"] = str(_l("Skriv kontaktens navn."))

    org = str(data.get("org_number") or "").strip()
    clean["org_number"] = None
    if clean["kind"] is ContactKind.COMPANY:
        try:
            clean["org_number"] = validate_org_number(org)
        except InvalidIdentifier as exc:
            errors["org_number"] = str(exc.message)
    elif org:
        errors["org_number"] = str(_l("En privatperson har ikke organisasjonsnummer. La feltet stå tomt."))

    mobile = str(data.get("mobile") or "")
    clean["mobile"] = None
    if mobile.strip():
        try:
            clean["mobile"] = normalize_mobile(mobile)
        except InvalidIdentifier as exc:
            errors["mobile"] = mobile_message(exc)

    email = str(data.get("email") or "").strip()
    clean["email"] = None
    if email:
        try:
            clean["email"] = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = str(_l("E-postadressen er ikke gyldig. Skriv den som navn@domene.no."))

    clean["address_line"] = text("address_line", 200)
    clean["postal_code"] = text("postal_code", 10)
    clean["city"] = text("city", 100)
    if clean["postal_code"] and not re.fullmatch(r"[0-9]{4}", clean["postal_code"]):
        errors["postal_code"] = str(_l("Postnummeret skal ha fire sifre, for eksempel 0155."))

    language = str(data.get("language") or "nb").strip().lower()
    if language not in LANGUAGES:
        errors["language"] = str(_l("Velg bokmål (nb), nynorsk (nn) eller engelsk (en)."))
    clean["language"] = language

    ap = str(data.get("access_point") or "").strip().upper()
    if ap in ("", "NONE", "INGEN"):
        clean["access_point"] = None
    elif ap in ACCESS_POINTS:
        clean["access_point"] = ap
        if ap == ACCESS_POINT_B2C and clean["kind"] is ContactKind.COMPANY:
            errors["access_point"] = str(MSG_B2C_COMPANY)
    else:
        errors["access_point"] = str(_l("Velg B2CNO, EHF eller ingen."))
        clean["access_point"] = None
    clean["receive_edocuments"] = bool(data.get("receive_edocuments"))

    birth = data.get("birth_date")
    clean["birth_date"] = None
    if birth not in (None, "") and str(birth).strip():
        if clean["kind"] is ContactKind.COMPANY:
            errors["birth_date"] = str(MSG_BIRTH_DATE_COMPANY)
        else:
            try:
                clean["birth_date"] = parse_birth_date(birth)
            except ValueError as exc:
                errors["birth_date"] = str(exc)
    for name, value in data.items():  # CSV cells, API strings and form fields alike
        if has_control(value):
            errors[str(name)] = str(MSG_CONTROL)
    return clean, errors


def _number_taken(sess: Session, issuer_id: int, number: str, except_id: int | None = None) -> bool:
    stmt = select(Contact.id).where(Contact.issuer_id == issuer_id, Contact.customer_number == number)
    if except_id is not None:
        stmt = stmt.where(Contact.id != except_id)
    return sess.scalar(stmt) is not None


MSG_NUMBER_TAKEN = _l("Kundenummeret %(number)s er allerede brukt av en annen kontakt.")


def save_contact(sess: Session, issuer_id: int, contact: Contact | None, data: dict, actor: Actor) -> Contact:
    """Create or update a contact after checking every rule; raises ContactError."""
    clean, errors = validate_contact(data)
    if "customer_number" not in errors and _number_taken(sess, issuer_id, clean["customer_number"],
                                                         contact.id if contact else None):
        errors["customer_number"] = str(MSG_NUMBER_TAKEN % {"number": clean["customer_number"]})
    if errors:
        raise ContactError(errors)
    action = "update" if contact else "create"
    changed: list[str] = []
    if contact is None:
        contact = Contact(issuer_id=issuer_id, **clean)
        sess.add(contact)
        changed = [k for k in FIELDS if clean[k] not in (None, "", False)]
    else:
        for key in FIELDS:
            if getattr(contact, key) != clean[key]:
                changed.append(key)
                setattr(contact, key, clean[key])
    sess.flush()
    events.record(sess, actor, "contact", contact.id, action, issuer_id=issuer_id, contact_id=contact.id,
                  data={"fields": changed})
    return contact


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------

def search_contacts(sess: Session, issuer_id: int, query: str = "", *, after: str | None = None,
                    limit: int = 25) -> pagination.Page:
    """Contacts by name, keyset-paginated; the search matches name, number, e-mail or mobile."""
    stmt = select(Contact).where(Contact.issuer_id == issuer_id)
    q = (query or "").strip()
    if q:
        conds = [Contact.name.ilike(f"%{q}%"), Contact.customer_number == q, Contact.email == q.lower()]
        mobile = parse_mobile_loose(q)
        if mobile:
            conds.append(Contact.mobile == mobile)
        stmt = stmt.where(or_(*conds))
    return pagination.ascending_by(sess, stmt, Contact, Contact.name, cursor=after, size=limit)


# ---------------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------------

CSV_HEADER = ("kundenummer", "type", "navn", "organisasjonsnummer", "mobil", "epost", "adresse",
              "postnummer", "poststed", "sprak", "aksesspunkt", "motta_edokumenter", "fodselsdato")
# Other names accepted for a column (the birth date is optional, also under its English name).
_COLUMN_ALIASES = {"birth_date": "fodselsdato", "fødselsdato": "fodselsdato"}
_COLUMN_TO_FIELD = dict(zip(CSV_HEADER, FIELDS, strict=False))
_KIND_WORDS = {"privatperson": "person", "person": "person", "privat": "person",
               "bedrift": "company", "company": "company", "firma": "company"}
_YES = {"ja", "j", "yes", "y", "1", "true", "sann"}
_NO = {"nei", "n", "no", "0", "false", "usann", ""}
MAX_ROWS = 10000

CSV_EXAMPLE = (
    ";".join(CSV_HEADER) + "\r\n"
    "10001;privatperson;Kari Nordmann;;+4791234567;kari@example.no;Storgata 1;0155;Oslo;nb;B2CNO;ja;15.05.1985\r\n"
    "10002;bedrift;Eksempel AS;923609016;;post@eksempel.no;Bryggen 2;5003;Bergen;nb;EHF;nei;\r\n"
)


@dataclass
class CsvRow:
    line: int
    raw: dict
    clean: dict | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class CsvResult:
    rows: list[CsvRow]
    problem: str | None = None  # the whole file could not be read

    @property
    def valid(self) -> list[CsvRow]:
        return [r for r in self.rows if r.ok]

    @property
    def invalid(self) -> list[CsvRow]:
        return [r for r in self.rows if not r.ok]


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def parse_csv(sess: Session, issuer_id: int, data: bytes) -> CsvResult:
    """Read and check every row; nothing is saved."""
    text = _decode(data)
    if text is None:
        return CsvResult([], str(_l("Filen er ikke UTF-8. Lagre den som «CSV UTF-8» og prøv igjen.")))
    if not text.strip():
        return CsvResult([], str(_l("Filen er tom.")))
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        header = [_COLUMN_ALIASES.get(h, h) for h in header]
    except (csv.Error, StopIteration):
        return CsvResult([], str(_l("Filen kunne ikke leses som CSV.")))
    missing = [c for c in ("kundenummer", "type", "navn") if c not in header]
    unknown = [h for h in header if h and h not in CSV_HEADER]
    if missing or unknown:
        msg = str(_l("Overskriftsraden stemmer ikke. Den skal være: %(header)s.", header=";".join(CSV_HEADER)))
        if unknown:
            msg += " " + str(_l("Ukjente kolonner: %(cols)s.", cols=", ".join(unknown)))
        return CsvResult([], msg)
    rows: list[CsvRow] = []
    seen: dict[str, int] = {}
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                return CsvResult([], str(_l("Filen har mer enn %(n)s rader. Del den opp.", n=MAX_ROWS)))
            raw = {col: (values[i].strip() if i < len(values) else "") for i, col in enumerate(header) if col}
            row = CsvRow(line=line, raw=raw)
            if len(values) > len(header):
                row.errors["row"] = str(_l("Raden har flere kolonner enn overskriftsraden."))
            data = {_COLUMN_TO_FIELD[c]: v for c, v in raw.items()}
            kind_word = data.get("kind", "").lower()
            data["kind"] = _KIND_WORDS.get(kind_word, kind_word)
            flag = data.get("receive_edocuments", "").lower()
            if flag not in _YES | _NO:
                row.errors["receive_edocuments"] = str(_l("Skriv ja eller nei."))
            data["receive_edocuments"] = flag in _YES
            clean, errors = validate_contact(data)
            row.errors.update(errors)
            number = clean["customer_number"]
            if number and "customer_number" not in row.errors:
                if number in seen:
                    row.errors["customer_number"] = str(_l(
                        "Kundenummeret %(number)s står også på linje %(line)s i filen.", number=number,
                        line=seen[number]))
                else:
                    seen[number] = line
            row.clean = clean
            rows.append(row)
    except csv.Error:
        return CsvResult([], str(_l("Filen kunne ikke leses som CSV.")))
    numbers = [r.clean["customer_number"] for r in rows if r.clean and r.clean["customer_number"]]
    taken: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        taken.update(sess.scalars(select(Contact.customer_number).where(
            Contact.issuer_id == issuer_id, Contact.customer_number.in_(chunk))))
    for r in rows:
        if r.clean and r.clean["customer_number"] in taken and "customer_number" not in r.errors:
            r.errors["customer_number"] = str(MSG_NUMBER_TAKEN % {"number": r.clean["customer_number"]})
    return CsvResult(rows)


def serializable_rows(result: CsvResult) -> list[dict]:
    """The valid rows in the raw form the importer checks again."""
    out = []
    for r in result.valid:
        d = {_COLUMN_TO_FIELD[c]: v for c, v in r.raw.items()}
        d["kind"] = r.clean["kind"].value
        d["receive_edocuments"] = r.clean["receive_edocuments"]
        d["_line"] = r.line
        out.append(d)
    return out


def import_contacts(sess: Session, issuer_id: int, rows: list[dict], actor: Actor) -> tuple[int, list[int]]:
    """Save the rows checked at preview, checking them again. Returns (saved, lines skipped).

    In bulk: every row is checked, the customer numbers already in use are looked up a chunk at
    a time, and the new contacts and their events are written with one statement each. Should
    another import take a number meanwhile (the unique constraint refuses the batch), the rows
    are saved one at a time instead, as before."""
    checked: list[tuple[dict, list[str], int]] = []
    skipped: list[int] = []
    seen: set[str] = set()
    for data in rows:
        clean, errors = validate_contact(data)
        number = clean.get("customer_number")
        if errors or not number or number in seen:
            skipped.append(int(data.get("_line") or 0))
            continue
        seen.add(number)
        checked.append((clean, [k for k in FIELDS if clean[k] not in (None, "", False)], int(data.get("_line") or 0)))
    taken: set[str] = set()
    numbers = [c["customer_number"] for c, _f, _l in checked]
    for start in range(0, len(numbers), 500):
        taken.update(sess.scalars(select(Contact.customer_number).where(
            Contact.issuer_id == issuer_id, Contact.customer_number.in_(numbers[start:start + 500]))))
    skipped += [line for c, _f, line in checked if c["customer_number"] in taken]
    new = [(c, f) for c, f, _line in checked if c["customer_number"] not in taken]
    if new:
        now = utcnow()
        try:
            with sess.begin_nested():
                ids = sess.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                                   [{"issuer_id": issuer_id, "created_at": now, "updated_at": now, **c}
                                    for c, _f in new]).all()
        except IntegrityError:
            return _import_one_by_one(sess, issuer_id, rows, actor)
        sess.execute(insert(events.Event), [
            {"actor_type": actor.type, "actor_id": actor.id, "actor_label": actor.label, "subject_type": "contact",
             "subject_id": cid, "action": "create", "issuer_id": issuer_id, "contact_id": cid,
             "data": {"fields": fields}, "created_at": now} for cid, (_c, fields) in zip(ids, new, strict=True)])
    saved = len(new)
    if saved:
        events.record(sess, actor, "contact_import", issuer_id, "import", issuer_id=issuer_id,
                      data={"saved": saved, "skipped": len(skipped)})
    sess.flush()
    return saved, sorted(skipped)


def _import_one_by_one(sess: Session, issuer_id: int, rows: list[dict], actor: Actor) -> tuple[int, list[int]]:
    saved, skipped = 0, []
    for data in rows:
        try:
            with sess.begin_nested():
                save_contact(sess, issuer_id, None, data, actor)
            saved += 1
        except ContactError:
            skipped.append(int(data.get("_line") or 0))
    if saved:
        events.record(sess, actor, "contact_import", issuer_id, "import", issuer_id=issuer_id,
                      data={"saved": saved, "skipped": len(skipped)})
    sess.flush()
    return saved, skipped
