"""eFaktura 2.0: the consumer's general consent in their bank, their blocks of single issuers,
the mobile numbers and e-mail addresses the bank knows for them, and a receipt for each change.

Beside the per-issuer agreement (``models.EFakturaAgreement``), not instead of it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agreements.models import Consumer
from portal.core.db import Base, utcnow
from portal.issuers.models import Issuer


class GeneralConsent(Base):
    """"Yes to eFaktura from all issuers", given (and perhaps withdrawn) in the nettbank.

    One row per consumer; ``active`` is the current answer."""

    __tablename__ = "general_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=False)
    given_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    consumer: Mapped[Consumer] = relationship()

    __mapper_args__ = {"version_id_col": version}


class IssuerBlock(Base):
    """The consumer does not want eFaktura from this issuer (the row exists while blocked)."""

    __tablename__ = "issuer_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    issuer: Mapped[Issuer] = relationship()

    __table_args__ = (UniqueConstraint("consumer_id", "issuer_id", name="uq_issuer_blocks_consumer_issuer"),)


class ConsumerAddress(Base):
    """A mobile number (+47 and 8 digits) or an e-mail address (lower case) the bank knows for
    the consumer. Issuers find a consumer by name together with one of these."""

    __tablename__ = "consumer_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    kind: Mapped[str] = mapped_column(String(10))  # mobile | email
    value: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("consumer_id", "kind", "value", name="uq_consumer_addresses_consumer_kind_value"),
        Index("ix_consumer_addresses_kind_value", "kind", "value"),
    )


class GeneralConsentReceipt(Base):
    """What the consumer saw and did in the nettbank for eFaktura 2.0, and how they logged in.

    Its own table rather than ``ConsentReceipt``: those belong to one per-issuer agreement
    (``agreement_id`` is required), and these changes concern the consumer as a whole."""

    __tablename__ = "general_consent_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    # consent_on | consent_off | block | unblock | add_mobile | remove_mobile | add_email | remove_email
    decision: Mapped[str] = mapped_column(String(20))
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuers.id"))
    detail: Mapped[str] = mapped_column(String(254), default="")  # masked mobile or e-mail, or ""
    text_version: Mapped[str] = mapped_column(String(40))
    shown_text: Mapped[str] = mapped_column(String(4000))
    language: Mapped[str] = mapped_column(String(5), default="nb")
    bankid_sub: Mapped[str] = mapped_column(String(255))
    bankid_acr: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    issuer: Mapped[Issuer | None] = relationship()

    __table_args__ = (Index("ix_general_consent_receipts_consumer", "consumer_id", "decided_at", "id"),)
