"""How invoices travel: the outbox handlers for invoice rows, and the reactions to consent.

Registered at start-up by ``create_app``: the worker calls these handlers for the invoice kinds,
and the agreement signals release held invoices in the transaction of the consumer's answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal.agreements import reachability, signals
from portal.agreements import services as agreements
from portal.core import events, outbox
from portal.core.events import Actor
from portal.core.labels import N_
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery import channels
from portal.delivery.channels import Attachment, Mail, PermanentError
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState

MY_AGREEMENTS_PATH = "/min-side/avtaler"  # served by the consumer area


def invoice_for(sess: Session, row: OutboxMessage, channel: Channel) -> Invoice | None:
    """The invoice this delivery row is for, or None when it is no longer waiting for it."""
    # populate_existing: the worker's session keeps objects across rows (no expiry on commit), and
    # an invoice it saw fail must be seen as it is now, e.g. sent again by the issuer meanwhile.
    inv = sess.get(Invoice, int((row.payload or {}).get("invoice_id") or row.invoice_id or 0),
                   populate_existing=True)
    if inv is None or inv.state is not InvoiceState.SENDING or inv.channel is not channel:
        return None
    return inv


def render_invoice_mail(inv: Invoice) -> Mail:
    """The e-mail that carries an invoice as a PDF, in the contact's language."""
    contact, issuer = inv.contact, inv.issuer
    # The way to say yes is "My agreements" behind BankID, not a signed consent link: an invoice
    # e-mail is not a consent request, may be forwarded, and must not open a new round of asking.
    ctx = {"invoice": inv, "contact": contact, "issuer": issuer,
           "offers_efaktura": bool(getattr(issuer, "is_active", False)),
           "agreements_url": current_app.config["PORTAL"]["BASE_URL"] + MY_AGREEMENTS_PATH}
    language = invoices.print_language(contact)
    template, filename = "invoice_email", f"faktura-{inv.number}.pdf"
    if inv.is_credit_note:  # says it is a credit note, which invoice it corrects, and that nothing is to be paid
        template, filename = "credit_note_email", f"kreditnota-{inv.number}.pdf"
        ctx["credited"] = inv.credited_invoice
    with force_locale(language):
        subject = render_template(f"messages/{template}_subject.txt", **ctx).strip()
        text = render_template(f"messages/{template}.txt", **ctx)
        html = render_template(f"messages/{template}.html", **ctx)
    pdf = invoices.invoice_pdf(inv)
    return Mail(to=contact.email or "", subject=subject, text=text, html=html,
                attachments=[Attachment(filename, pdf)])


@dataclass(frozen=True)
class InvoiceMailJob:
    invoice_id: int
    mail: Mail
    key: str


def prepare_invoice_email(sess: Session, row: OutboxMessage) -> InvoiceMailJob | None:
    """Read the invoice and build its e-mail (PDF included); None when it no longer waits."""
    inv = invoice_for(sess, row, Channel.EMAIL)
    if inv is None:
        return None
    if not inv.contact.email:
        raise PermanentError(N_("Kontakten har ingen e-postadresse; fakturaen kan ikke sendes på e-post."))
    return InvoiceMailJob(inv.id, render_invoice_mail(inv), row.idempotency_key)


def send_invoice_email(job: InvoiceMailJob) -> str:
    """The SMTP call: no database transaction is open while it runs."""
    return channels.email_channel().send(job.mail, job.key)


def record_invoice_email(sess: Session, row: OutboxMessage, job: InvoiceMailJob, message_id: str) -> None:
    """The e-mail went out: the invoice is delivered (once; a repeat finds it delivered already)."""
    inv = invoice_for(sess, row, Channel.EMAIL)
    if inv is not None:
        invoices.mark_delivered(sess, inv, detail={"channel": "email", "to": job.mail.to,
                                                   "message_id": message_id})


def deliver_to_nettbank(sess: Session, row: OutboxMessage) -> None:
    inv = invoice_for(sess, row, Channel.NETTBANK)
    if inv is None:
        return
    consumer_id = inv.consumer_id
    if inv.is_credit_note and consumer_id is not None:
        # Beside the invoice it corrects, in the nettbank that invoice reached: no new consent.
        pass
    elif inv.route == reachability.Route.GENERAL_CONSENT.value:
        # Ask again at the door: a consent withdrawn (or a block) since routing stops it here.
        found = reachability.lookup(sess, inv.contact)
        if not found.reachable or found.consumer_id != consumer_id:
            invoices.reroute(sess, inv, events.SYSTEM,
                             reason="issuer_blocked" if found.reason == "blocked" else "general_consent_withdrawn")
            return
    else:
        # Through the agreement: its verified consumer now, and the one it was routed to, if known.
        agreement = agreements.agreement_for(sess, inv.contact)
        bound = agreement.consumer_id if agreement is not None else None
        consumer_id = bound if consumer_id in (None, bound) else None
    if consumer_id is None:
        raise PermanentError(N_("eFaktura-avtalen har ingen BankID-verifisert mottaker; "
                                "fakturaen kan ikke leveres i nettbanken."))
    channels.nettbank_channel().deliver(sess, inv, consumer_id)
    invoices.mark_delivered(sess, inv, detail={"channel": "nettbank"})


def queue_for_post(sess: Session, row: OutboxMessage) -> None:
    inv = invoice_for(sess, row, Channel.POST)
    if inv is None:
        return
    job = channels.PrintQueue().deliver(sess, inv)
    invoices.mark_delivered(sess, inv, detail={"channel": "post", "status": "queued_for_post",
                                               "batch_date": job.batch_date.isoformat()})


def consent_deadline(sess: Session, row: OutboxMessage) -> None:
    """One deadline row: its invoice, and with it every other held invoice now due, in bulk
    (their own deadline rows are cancelled, so a backlog empties a batch per row)."""
    invoices.deadline_passed(sess, int((row.payload or {}).get("invoice_id") or row.invoice_id))
    invoices.release_due(sess)


def _failed(channel: Channel):
    def on_dead(sess: Session, row: OutboxMessage, reason: str) -> None:
        inv = invoice_for(sess, row, channel)
        if inv is not None:
            invoices.mark_failed(sess, inv, reason)

    return on_dead


# --- reactions to the consumer's answer --------------------------------------------------

def _release_held(reason: str):
    def receiver(agreement, *, sess: Session, actor: Actor, **_extra) -> None:
        for inv in invoices.held_for_contact(sess, agreement.contact_id):
            invoices.release_held(sess, inv, actor, reason=reason)

    return receiver


_on_approved = _release_held("consent_approved")
_on_declined = _release_held("consent_declined")


def _on_general_consent_changed(consumer, *, sess: Session, actor: Actor, **_extra) -> None:
    """The consumer changed their general consent, a block or their profile, in the bank:

    - eFaktura on their way by general consent that can no longer reach them go by e-mail or post;
    - invoices held for a per-issuer answer from someone now reachable by general consent go to
      the nettbank, and those from an issuer they blocked go by e-mail or post now."""
    for inv in invoices.in_flight_by_general_consent(sess, consumer.id):
        found = reachability.lookup(sess, inv.contact)
        if not found.reachable or found.consumer_id != consumer.id:
            invoices.reroute(sess, inv, actor,
                             reason="issuer_blocked" if found.reason == "blocked" else "general_consent_withdrawn")
    for contact in reachability.contacts_of(sess, consumer.id):
        held = invoices.held_for_contact(sess, contact.id)
        if not held:
            continue
        found = reachability.lookup(sess, contact)
        if found.consumer_id != consumer.id:
            continue
        if found.route is reachability.Route.GENERAL_CONSENT:
            reason = "general_consent_given"
        elif found.reason == "blocked":
            reason = "issuer_blocked"
        else:
            continue
        for inv in held:
            invoices.release_held(sess, inv, actor, reason=reason)


def register_handlers() -> None:
    outbox.register(OutboxKind.INVOICE_EMAIL, prepare=prepare_invoice_email, send=send_invoice_email,
                    record=record_invoice_email, on_dead=_failed(Channel.EMAIL), channel="email")
    outbox.register(OutboxKind.NETTBANK, deliver_to_nettbank, on_dead=_failed(Channel.NETTBANK))
    outbox.register(OutboxKind.POST, queue_for_post, on_dead=_failed(Channel.POST))
    outbox.register(OutboxKind.CONSENT_DEADLINE, consent_deadline)
    signals.agreement_approved.connect(_on_approved)
    signals.agreement_declined.connect(_on_declined)
    signals.general_consent_changed.connect(_on_general_consent_changed)
