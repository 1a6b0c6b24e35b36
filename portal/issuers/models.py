from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, utcnow, value_enum
from portal.issuers.states import IssuerAgreementState


class Issuer(Base):
    __tablename__ = "issuers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(9), unique=True)
    address_line: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    account_number: Mapped[str | None] = mapped_column(String(11))
    uses_avtalegiro: Mapped[bool] = mapped_column(default=False)
    # In the VAT register (Merverdiavgiftsregisteret), as the business register says: decides
    # "MVA" after the organisation number on every invoice, and the default VAT rate.
    vat_registered: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Opt-in: a daily e-mail to staff listing customers who declined or stopped eFaktura.
    digest_opt_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    b2c_active_since: Mapped[dt.datetime | None]

    agreements: Mapped[list[IssuerAgreement]] = relationship(
        back_populates="issuer", order_by="IssuerAgreement.id"
    )

    @property
    def is_active(self) -> bool:
        """May send eFaktura: the issuer agreement has been approved."""
        return self.b2c_active_since is not None

    @property
    def pending_agreement(self) -> IssuerAgreement | None:
        for agr in reversed(self.agreements):
            if agr.state is IssuerAgreementState.PENDING:
                return agr
        return None


class IssuerUser(UserMixin, Base):
    __tablename__ = "issuer_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    email_verified_at: Mapped[dt.datetime | None]  # None: may not log in until the link is used

    issuer: Mapped[Issuer] = relationship()

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_id(self) -> str:  # flask-login: ids are namespaced per kind of user
        return f"issuer:{self.id}"


class IssuerAgreement(Base):
    """The utstederavtale: approved once by the person the issuer names."""

    __tablename__ = "issuer_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    approver_name: Mapped[str] = mapped_column(String(200))
    approver_email: Mapped[str] = mapped_column(String(254))
    state: Mapped[IssuerAgreementState] = mapped_column(value_enum(IssuerAgreementState, "issuer_agreement_state"))
    stop_avtalegiro: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("issuer_users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[dt.datetime | None]
    link_sent_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    # The receipt of the answer, by a role holder logged in with BankID (flow H).
    answered_at: Mapped[dt.datetime | None]
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_role: Mapped[str | None] = mapped_column(String(10))
    signer_role_text: Mapped[str | None] = mapped_column(String(100))
    signer_sub: Mapped[str | None] = mapped_column(String(255))
    signer_acr: Mapped[str | None] = mapped_column(String(100))
    text_version: Mapped[str | None] = mapped_column(String(20))
    text_digest: Mapped[str | None] = mapped_column(String(64))

    issuer: Mapped[Issuer] = relationship(back_populates="agreements")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_issuer_agreements_issuer", "issuer_id", "state"),)



