from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, utcnow


class SupportUser(UserMixin, Base):
    __tablename__ = "support_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    def get_id(self) -> str:
        return f"support:{self.id}"


class SupportAudit(Base):
    """Every search and every page a support user opens."""

    __tablename__ = "support_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    support_user_id: Mapped[int] = mapped_column(ForeignKey("support_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))  # search | view | reveal | resend | retry
    target_type: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (Index("ix_support_audit_created", "created_at", "id"),)
