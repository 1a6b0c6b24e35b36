from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow
from portal.issuers.models import _enum


class OutboxKind(enum.Enum):
    EMAIL = "email"  # payload: template + context; the worker renders and sends
    SMS = "sms"
    NETTBANK = "nettbank"  # deliver an invoice to the consumer's nettbank
    POST = "post"  # put an invoice in the print queue
    CONSENT_DEADLINE = "consent_deadline"  # the three-day rule for one held invoice
    CONSENT_EXPIRY = "consent_expiry"  # an unanswered consent link runs out


class OutboxStatus(enum.Enum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"


class OutboxMessage(Base):
    """A side effect written in the same transaction as the state change that causes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind, "outbox_kind"))
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    consent_request_id: Mapped[int | None] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=6)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at", "id"),
        Index("ix_outbox_issuer_status", "issuer_id", "status"),
    )


class MailboxMessage(Base):
    """Development mailbox: e-mails and SMS kept instead of sent, shown on a page."""

    __tablename__ = "mailbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # The mailbox page: newest first, optionally for one recipient.
    __table_args__ = (Index("ix_mailbox_messages_created", "created_at", "id"),)


class NettbankDocument(Base):
    """The simulated nettbank: an eFaktura delivered to one consumer."""

    __tablename__ = "nettbank_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    delivered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_nettbank_documents_consumer", "consumer_id", "delivered_at", "id"),)


class PrintJob(Base):
    """The print queue: one invoice to be posted, batched per day."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    batch_date: Mapped[dt.date] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # The issuer's print batches: per issuer, by day.
    __table_args__ = (Index("ix_print_jobs_issuer_batch", "issuer_id", "batch_date", "id"),)
