"""Demo data for `make run`, loaded idempotently: running it again changes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.agreements import general
from portal.agreements import services as agreements
from portal.agreements.models import Consumer
from portal.contacts.models import Contact, ContactKind
from portal.core import db, events
from portal.core.auth import hash_password
from portal.core.db import utcnow
from portal.core.identifiers import kid_mod10, mask_national_id
from portal.integrations import credentials, webhooks
from portal.invoices import services as invoices
from portal.issuers import services as issuer_services
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.issuers.states import IssuerAgreementState
from portal.support.models import SupportUser

DEMO_PASSWORD = "demo-passord-2026"
ACTIVE_ORG = "923609016"
PENDING_ORG = "974760673"

DEMO_LOGINS = [
    ("Issuer (active)", f"regnskap@fjordkraft-demo.no / {DEMO_PASSWORD}"),
    ("Issuer (awaiting)", f"post@snekker-demo.no / {DEMO_PASSWORD}"),
    ("Support", f"support@efaktura-demo.no / {DEMO_PASSWORD}"),
]


def load_demo() -> bool:
    """Create the demo data unless it is there. Returns whether anything was created."""
    sess = db.session
    if sess.scalar(select(Issuer).where(Issuer.org_number == ACTIVE_ORG)) is not None:
        return False

    seed = events.Actor("system", None, "demo data")
    active = Issuer(name="Fjordlys Energi AS", org_number=ACTIVE_ORG, address_line="Kaigata 4",
                    postal_code="5015", city="Bergen", account_number="12345678903", vat_registered=True)
    pending = Issuer(name="Snekker Hansen AS", org_number=PENDING_ORG, address_line="Verkstedveien 12",
                     postal_code="7010", city="Trondheim", account_number="86011117947",
                     uses_avtalegiro=True, vat_registered=True)
    sess.add_all([active, pending])
    sess.flush()
    active.b2c_active_since = utcnow()
    sess.add_all([
        # Approvers are role holders in the simulated register (docs/register.md).
        IssuerAgreement(issuer_id=active.id, approver_name="Kari Nordmann",
                        approver_email="leder@fjordkraft-demo.no", state=IssuerAgreementState.APPROVED,
                        approved_at=utcnow()),
        IssuerUser(issuer_id=active.id, email="regnskap@fjordkraft-demo.no", name="Liv Regnskap",
                   password_hash=hash_password(DEMO_PASSWORD), email_verified_at=utcnow()),
        SupportUser(email="support@efaktura-demo.no", name="Sara Support",
                    password_hash=hash_password(DEMO_PASSWORD)),
    ])

    def contact(issuer, number, name, **kw):
        defaults = {"kind": ContactKind.PERSON, "access_point": "B2CNO", "receive_edocuments": True,
                        "address_line": "Bakkeveien 2", "postal_code": "5003", "city": "Bergen", "language": "nb"}
        defaults.update(kw)
        c = Contact(issuer_id=issuer.id, customer_number=number, name=name, **defaults)
        sess.add(c)
        sess.flush()
        return c

    # Answered with the BankID test persons of the same name (docs/bankid.md): Kari's birth date
    # is registered and must match too; Ola is matched by name alone.
    kari = contact(active, "10001", "Kari Nordmann", mobile="+4791234567", email="kari@example.no",
                   birth_date=dt.date(1985, 5, 15))
    ola = contact(active, "10002", "Ola Nordmann", mobile="+4741234567", email="ola@example.no")
    ase = contact(active, "10003", "Åse Øvrebø", mobile="+4792345678", email=None)
    firma = contact(active, "20001", "Byggmester Berg AS", kind=ContactKind.COMPANY, org_number="971526920",
                    access_point="EHF", receive_edocuments=False, mobile=None, email="faktura@berg-demo.no")
    per = contact(pending, "501", "Per Persen", mobile="+4793456789", email="per.persen@example.no")
    # An agreement from the pending issuer's earlier third-party arrangement: activation ends it.
    agreements.import_third_party(sess, per, seed)
    # The pending issuer asked for B2C the way staff do, so the approver's e-mail is in the mailbox.
    per_hansen = IssuerUser(issuer_id=pending.id, email="post@snekker-demo.no", name="Per Hansen",
                            password_hash=hash_password(DEMO_PASSWORD), email_verified_at=utcnow())
    sess.add(per_hansen)
    sess.flush()
    issuer_services.request_activation(sess, pending, per_hansen, approver_name="Ali Hassan",
                                       approver_email="ali@snekker-demo.no", stop_avtalegiro=True,
                                       preview=agreements.activation_preview(sess, pending))

    today = dt.date.today()

    def invoice(issuer, c, number, amount_ore, text):
        inv = invoices.create_invoice(
            sess, issuer, c, number=number, issue_date=today, due_date=today + dt.timedelta(days=14),
            kid=kid_mod10("".join(ch for ch in f"{c.customer_number}{number}" if ch.isdigit())), account_number=issuer.account_number,
            lines=[invoices.LineInput(text, Decimal(1), amount_ore, 25)], actor=seed)
        invoices.issue_invoice(sess, inv, seed)
        return inv

    # eFaktura 2.0 in the bank. Jonas Berg said yes to all issuers: found by name and mobile, his
    # first invoice goes to his nettbank with no SMS. Ola Nordmann blocked Fjordlys Energi: his
    # invoice goes by e-mail at once and he is not asked. Kari Nordmann has neither: she is asked.
    jonas_c = contact(active, "10004", "Jonas Berg", mobile="+4794567890", email="jonas@example.no")
    bank = general.Login(acr="demo data", language="nb")
    jonas = _demo_consumer(sess, "Jonas Berg", "09099945769", dt.date(1999, 9, 9))
    general.add_address(sess, jonas, "mobile", "+4794567890", bank)
    general.set_general_consent(sess, jonas, True, bank)
    ola_p = _demo_consumer(sess, "Ola Nordmann", "03115237771", dt.date(1952, 11, 3))
    general.add_address(sess, ola_p, "mobile", "+4741234567", bank)
    general.set_general_consent(sess, ola_p, True, bank)
    general.block(sess, ola_p, active, bank)

    invoice(active, kari, "2026-0001", 89900, "Strøm oktober")  # held: Kari is asked to consent
    invoice(active, ase, "2026-0002", 45000, "Strøm oktober")  # held: Åse has no e-mail (post fallback)
    invoice(active, firma, "2026-0003", 1250000, "Byggstrøm oktober")  # company: e-mail
    invoice(pending, per, "501-1", 320000, "Kjøkkenbenk")  # issuer not active: e-mail
    invoice(active, jonas_c, "2026-0004", 61200, "Strøm oktober")  # general consent: nettbank, no SMS
    invoice(active, ola, "2026-0005", 73400, "Strøm oktober")  # blocked: e-mail at once, no SMS
    sess.commit()
    return True


def _demo_consumer(sess, name: str, national_id: str, born: dt.date) -> Consumer:
    """A BankID test person as a consumer the bank already knows; their first log-in finds this
    row by the keyed hash of the number."""
    consumer = Consumer(sub=f"demo:{name.split()[0].lower()}", nnin_hash=agreements.national_id_hash(national_id),
                        nnin_masked=mask_national_id(national_id), name=name, birth_date=born)
    sess.add(consumer)
    sess.flush()
    return consumer


def demo_api_key() -> str | None:
    """The active demo issuer's API key (read and write), for the `make run` banner; made on the
    first call and derived from the instance's secret key. None when there is no demo data."""
    sess = db.session
    issuer = sess.scalar(select(Issuer).where(Issuer.org_number == ACTIVE_ORG))
    if issuer is None:
        return None
    secret = hmac.new(current_app.config["SECRET_KEY"].encode(), b"demo-api-key", hashlib.sha256).hexdigest()
    key = f"{credentials.KEY_PREFIX}demodemo_{secret[:40]}"
    credentials.ensure_known_key(sess, issuer.id, "Demo: regnskapssystem", key, ["read", "write"],
                                 events.Actor("system", None, "demo data"))
    receiver = current_app.config["PORTAL"]["BASE_URL"] + "/dev/webhook-mottak"
    if current_app.config["PORTAL"]["DEV_TOOLS"] and not any(e.url == receiver for e in webhooks.endpoints_for(sess, issuer.id)):
        # every event of the demo issuer also arrives, signed, in the development mailbox
        webhooks.add_endpoint(sess, issuer.id, receiver, list(webhooks.EVENT_TYPES),
                              events.Actor("system", None, "demo data"))
    sess.commit()
    return key


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load demo issuers, users, contacts and invoices (safe to run again; never in production)."""
    if current_app.config["PORTAL"]["PRODUCTION"]:
        raise click.ClickException("seed-demo refuses to run with PORTAL_ENV=production: "
                                   "demo users have a published password")
    created = load_demo()
    click.echo("Demo data loaded." if created else "Demo data already present; nothing changed.")
    key = demo_api_key()
    if key:
        click.echo(f"Demo API key for Fjordlys Energi AS (read and write): {key}")
        click.echo("  try: curl -H 'Authorization: Bearer <key>' "
                   f"{current_app.config['PORTAL']['BASE_URL']}/api/v1/invoices")
