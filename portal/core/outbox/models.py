"""The outbox table: one row per side effect, written in the transaction that causes it."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, utcnow, value_enum
from portal.core.outbox.states import OutboxStatus


class OutboxKind(enum.Enum):
    EMAIL = "email"  # payload: to, subject, text, html: a message ready to send
    INVOICE_EMAIL = "invoice_email"  # an invoice as a PDF attachment, rendered when sent
    SMS = "sms"
    NETTBANK = "nettbank"  # deliver an invoice to the consumer's nettbank
    POST = "post"  # put an invoice in the print queue
    CONSENT_DEADLINE = "consent_deadline"  # the three-day rule for one held invoice
    CONSENT_EXPIRY = "consent_expiry"  # an unanswered consent link runs out
    WEBHOOK = "webhook"  # POST one signed event to an issuer's webhook endpoint


class OutboxMessage(Base):
    """A side effect written in the same transaction as the state change that causes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(value_enum(OutboxKind, "outbox_kind"))
    status: Mapped[OutboxStatus] = mapped_column(value_enum(OutboxStatus, "outbox_status"),
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
    locked_at: Mapped[dt.datetime | None]  # when the current (or last) lease was taken
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at", "id"),
        Index("ix_outbox_issuer_status", "issuer_id", "status"),
    )


class Installation(Base):
    """One row: this installation's id, so idempotency keys never repeat across databases."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
