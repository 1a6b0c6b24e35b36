from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, utcnow, value_enum
from portal.issuers.models import Issuer


class ContactKind(enum.Enum):
    PERSON = "person"  # privatperson
    COMPANY = "company"


ACCESS_POINT_B2C = "B2CNO"
ACCESS_POINTS = ("B2CNO", "EHF")


class Contact(Base):
    """A customer of one issuer."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    customer_number: Mapped[str] = mapped_column(String(30))
    kind: Mapped[ContactKind] = mapped_column(value_enum(ContactKind, "contact_kind"))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date | None]  # where known: a consent link is answered only by this person
    org_number: Mapped[str | None] = mapped_column(String(9))
    mobile: Mapped[str | None] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    address_line: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    access_point: Mapped[str | None] = mapped_column(String(10))
    receive_edocuments: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(5), default="nb")
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    issuer: Mapped[Issuer] = relationship()

    __table_args__ = (
        UniqueConstraint("issuer_id", "customer_number", name="uq_contacts_issuer_customer_number"),
        Index("ix_contacts_issuer_name", "issuer_id", "name", "id"),
    )

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address_line.strip() and self.postal_code.strip() and self.city.strip())

    @property
    def address_lines(self) -> tuple[str, ...]:
        return tuple(x for x in (self.name, self.address_line, f"{self.postal_code} {self.city}".strip()) if x)
