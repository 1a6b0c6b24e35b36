"""Tables of the accounting-system integration."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, utcnow


class ApiCredential(Base):
    """An API key of one issuer. Only the SHA-256 of the key is kept; ``prefix`` finds the row."""

    __tablename__ = "api_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(50))  # "read" or "read write"
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(Base):
    """One POST under an ``Idempotency-Key``: inserted (and committed) before the work, so a
    second request with the same key finds it; completed with the stored response."""

    __tablename__ = "api_idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_type: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("issuer_id", "key", name="uq_api_idempotency_keys_issuer_key"),
        Index("ix_api_idempotency_keys_created", "created_at"),
    )


class WebhookEndpoint(Base):
    """Where an issuer wants to hear about events, and which ones."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…: needed in clear to sign
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]


class WebhookDelivery(Base):
    """One event for one endpoint; sent by the outbox, every try kept as an attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    event_type: Mapped[str] = mapped_column(String(50))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, delivered, failed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempts: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id",
                                                          back_populates="delivery")


class WebhookAttempt(Base):
    """One HTTP POST of a delivery: when, what came back."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempts")


class InvoiceSource(Base):
    """The original EHF / Peppol BIS Billing 3.0 XML an invoice was made from."""

    __tablename__ = "invoice_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    media_type: Mapped[str] = mapped_column(String(100))
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
