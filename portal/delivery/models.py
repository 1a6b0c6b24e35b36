from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, utcnow


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
