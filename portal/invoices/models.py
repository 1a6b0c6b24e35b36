from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.contacts.models import Contact
from portal.core.db import Base, utcnow, value_enum
from portal.delivery.models import NettbankDocument
from portal.invoices.states import Channel, DocumentKind, InvoiceState
from portal.issuers.models import Issuer


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    number: Mapped[str] = mapped_column(String(30))
    issue_date: Mapped[dt.date]
    due_date: Mapped[dt.date]
    kid: Mapped[str] = mapped_column(String(25))
    account_number: Mapped[str] = mapped_column(String(11))
    net_ore: Mapped[int] = mapped_column(BigInteger)
    vat_ore: Mapped[int] = mapped_column(BigInteger)
    total_ore: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[InvoiceState] = mapped_column(value_enum(InvoiceState, "invoice_state"))
    channel: Mapped[Channel | None] = mapped_column(value_enum(Channel, "delivery_channel"))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[dt.datetime | None]
    held_until: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    # How routing reached the recipient: agreement | general_consent | consent_request |
    # not_receiving | declined | not_eligible (eFaktura 2.0 beside the per-issuer consent).
    route: Mapped[str | None] = mapped_column(String(30))
    # The BankID-verified consumer an eFaktura goes to, chosen when it was routed to nettbank.
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    # An invoice, or a credit note (kreditnota) that corrects one: its amounts are negative and
    # ``credits_invoice_id`` is the invoice it credits. Both share the issuer's number series.
    kind: Mapped[DocumentKind] = mapped_column(value_enum(DocumentKind, "document_kind"),
                                               default=DocumentKind.INVOICE, server_default="invoice")
    credits_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    # On an invoice: how much of its total (øre, incl. VAT) credit notes have taken back. The
    # check constraint is the last guard against crediting more than the invoice was for.
    credited_ore: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # On a credit note: why the invoice was credited, as the issuer wrote it.
    credit_reason: Mapped[str | None] = mapped_column(String(300))

    issuer: Mapped[Issuer] = relationship()
    contact: Mapped[Contact] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    # The eFaktura in the nettbank (read only): tells whether the consumer has paid it there.
    nettbank_document: Mapped[NettbankDocument | None] = relationship(viewonly=True, uselist=False)

    credited_invoice: Mapped[Invoice | None] = relationship(remote_side=[id], viewonly=True)

    @property
    def is_credit_note(self) -> bool:
        return self.kind is DocumentKind.CREDIT_NOTE

    @property
    def creditable_ore(self) -> int:
        """What credit notes can still take back of this invoice (øre, incl. VAT)."""
        return 0 if self.is_credit_note else max(self.total_ore - self.credited_ore, 0)

    @property
    def amount_due_ore(self) -> int:
        """What the customer is asked to pay: the total less what has been credited."""
        return 0 if self.is_credit_note else max(self.total_ore - self.credited_ore, 0)

    @property
    def paid_in_nettbank(self) -> bool:
        return self.nettbank_document is not None and self.nettbank_document.paid_at is not None

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("issuer_id", "number", name="uq_invoices_issuer_number"),
        CheckConstraint("credited_ore >= 0 AND (credited_ore = 0 OR credited_ore <= total_ore)",
                        name="credited_within_total"),
        # Sent documents filtered by document type (invoices or credit notes), newest first.
        Index("ix_invoices_issuer_kind_created", "issuer_id", "kind", "created_at", "id"),
        # Sent documents: newest first per issuer, optionally by state / channel / contact.
        Index("ix_invoices_issuer_created", "issuer_id", "created_at", "id"),
        Index("ix_invoices_issuer_state_created", "issuer_id", "state", "created_at", "id"),
        Index("ix_invoices_issuer_channel_created", "issuer_id", "channel", "created_at", "id"),
        Index("ix_invoices_issuer_contact_created", "issuer_id", "contact_id", "created_at", "id"),
        Index("ix_invoices_contact_state", "contact_id", "state"),
        # Sent documents filtered by issue date: ordered by (issue date, time, id) from this index.
        Index("ix_invoices_issuer_issued_created", "issuer_id", "issue_date", "created_at", "id"),
        # The dashboard: deliveries of the last days by channel, read from the index alone.
        Index("ix_invoices_issuer_delivered", "issuer_id", "delivered_at", "channel", "kind"),
        # The three-day sweep: held invoices whose deadline has come, oldest deadline first.
        Index("ix_invoices_state_held_until", "state", "held_until", "id"),
    )


class InvoicePdf(Base):
    """An invoice's PDF, rendered once when first needed and reused for every e-mail, print and
    download (an issued invoice does not change)."""

    __tablename__ = "invoice_pdfs"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    invoice_version: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit_price_ore: Mapped[int] = mapped_column(BigInteger)
    vat_rate_percent: Mapped[int]
    line_net_ore: Mapped[int] = mapped_column(BigInteger)
    line_vat_ore: Mapped[int] = mapped_column(BigInteger)
    # On a credit note: the line of the credited invoice this line takes back (quantity negative).
    credits_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_lines.id"), index=True)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
