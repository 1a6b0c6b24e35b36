from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.core.db import Base, utcnow, value_enum
from portal.issuers.models import Issuer


class Consumer(Base):
    """A person verified with BankID. The national identity number is kept only as a keyed hash."""

    __tablename__ = "consumers"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(255), unique=True)
    nnin_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    nnin_masked: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class EFakturaAgreement(Base):
    """Consent of one consumer (a contact of the issuer) to receive eFaktura from that issuer."""

    __tablename__ = "efaktura_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    state: Mapped[AgreementState] = mapped_column(value_enum(AgreementState, "agreement_state"))
    source: Mapped[str] = mapped_column(String(20), default="portal")  # portal | third_party
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    issuer: Mapped[Issuer] = relationship()
    contact: Mapped[Contact] = relationship()
    consumer: Mapped[Consumer | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("issuer_id", "contact_id", name="uq_efaktura_agreements_issuer_contact"),
        Index("ix_efaktura_agreements_issuer_state", "issuer_id", "state"),
    )


class ConsentRequest(Base):
    """One round of asking: one SMS and one e-mail carrying the same signed link."""

    __tablename__ = "consent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("efaktura_agreements.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]  # answered, expired, or replaced
    trigger: Mapped[str] = mapped_column(String(20), default="invoice")  # invoice | support | issuer
    requested_by: Mapped[str] = mapped_column(String(200), default="system")

    agreement: Mapped[EFakturaAgreement] = relationship()

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    # The dashboard: requests of the last days per issuer.
    __table_args__ = (Index("ix_consent_requests_issuer_created", "issuer_id", "created_at"),)


class ConsentReceipt(Base):
    """What the consumer saw and decided, and how they proved who they are."""

    __tablename__ = "consent_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("efaktura_agreements.id"), index=True)
    consent_request_id: Mapped[int | None] = mapped_column(ForeignKey("consent_requests.id"))
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # approve | decline | stop
    text_version: Mapped[str] = mapped_column(String(40))
    shown_text: Mapped[str] = mapped_column(String(4000))
    language: Mapped[str] = mapped_column(String(5), default="nb")
    channel: Mapped[str] = mapped_column(String(20))  # sms | email | portal
    bankid_sub: Mapped[str] = mapped_column(String(255))
    bankid_acr: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    agreement: Mapped[EFakturaAgreement] = relationship()

    # The dashboard: the answers to a set of requests.
    __table_args__ = (Index("ix_consent_receipts_request", "consent_request_id", "decision"),)
