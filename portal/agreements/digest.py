"""The issuer's opt-in daily digest: which customers declined or stopped eFaktura in the last
day. Sent through the outbox (one e-mail per staff user and day, by its idempotency key) by
``flask send-digests``, which a daily cron job runs."""
from __future__ import annotations

import datetime as dt

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agreements.models import ConsentReceipt, EFakturaAgreement
from portal.contacts.models import Contact
from portal.core import outbox
from portal.core.outbox import OutboxKind, enqueue
from portal.issuers.models import Issuer, IssuerUser

DIGEST_HOURS = 24


def answers_since(sess: Session, issuer_id: int, since: dt.datetime) -> list[tuple[ConsentReceipt, Contact]]:
    """Declines and stops of this issuer's customers since ``since``, oldest first."""
    return list(sess.execute(
        select(ConsentReceipt, Contact)
        .join(EFakturaAgreement, EFakturaAgreement.id == ConsentReceipt.agreement_id)
        .join(Contact, Contact.id == EFakturaAgreement.contact_id)
        .where(EFakturaAgreement.issuer_id == issuer_id, ConsentReceipt.decision.in_(("decline", "stop")),
               ConsentReceipt.decided_at >= since)
        .order_by(ConsentReceipt.decided_at, ConsentReceipt.id)).tuples())


def send_digests(sess: Session, now: dt.datetime, base_url: str) -> int:
    """Queue today's digest for every issuer that asked for it and has something to tell.
    Running it twice on one day queues nothing more. Returns how many e-mails were queued."""
    since = now - dt.timedelta(hours=DIGEST_HOURS)
    queued = 0
    for issuer in sess.scalars(select(Issuer).where(Issuer.digest_opt_in.is_(True)).order_by(Issuer.id)):
        answers = answers_since(sess, issuer.id, since)
        if not answers:
            continue
        users = sess.scalars(select(IssuerUser).where(IssuerUser.issuer_id == issuer.id,
                                                      IssuerUser.email_verified_at.is_not(None)))
        ctx = {"issuer": issuer, "answers": answers, "url": base_url + "/utsteder/"}
        with force_locale("nb"):
            subject = render_template("messages/digest_subject.txt", **ctx).strip()
            text = render_template("messages/digest.txt", **ctx)
        for user in users:
            key = f"digest:{issuer.id}:{user.id}:{now.date().isoformat()}"
            if outbox.count_caused(sess, key):  # already sent today
                continue  # already queued today
            enqueue(sess, OutboxKind.EMAIL, key, {"to": user.email, "subject": subject, "text": text,
                                                  "purpose": "digest"}, issuer_id=issuer.id)
            queued += 1
    sess.flush()
    return queued
