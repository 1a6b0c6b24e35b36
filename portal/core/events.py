"""Append-only event log: every state change and every noteworthy action is one row."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base, utcnow


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(20))  # system, issuer_user, support, consumer, approver
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id", "created_at"),
        Index("ix_events_contact", "contact_id", "created_at"),
        Index("ix_events_invoice", "invoice_id", "created_at"),
        Index("ix_events_issuer", "issuer_id", "created_at"),
    )


@dataclass(frozen=True)
class Actor:
    type: str
    id: int | None = None
    label: str = ""


SYSTEM = Actor("system", None, "system")


def record(
    sess: Session,
    actor: Actor,
    subject_type: str,
    subject_id: int,
    action: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    issuer_id: int | None = None,
    contact_id: int | None = None,
    invoice_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    ev = Event(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        issuer_id=issuer_id,
        contact_id=contact_id,
        invoice_id=invoice_id,
        data=data or {},
    )
    sess.add(ev)
    return ev


def history(sess: Session, subject_type: str, subject_id: int) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.subject_type == subject_type, Event.subject_id == subject_id)
        .order_by(Event.created_at, Event.id)
    )
    return list(sess.scalars(stmt))
