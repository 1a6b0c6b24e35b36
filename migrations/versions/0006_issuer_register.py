"""Issuer sign-up checked against the business register: verified staff e-mail, and the
approver's receipt (who, which role, when, text version) on the issuer agreement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 16:00:00
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

RECEIPT_COLUMNS = [
    ('answered_at', portal.core.db.UTCDateTime(timezone=True)),
    ('signer_name', sa.String(length=200)),
    ('signer_role', sa.String(length=10)),
    ('signer_role_text', sa.String(length=100)),
    ('signer_sub', sa.String(length=255)),
    ('signer_acr', sa.String(length=100)),
    ('text_version', sa.String(length=20)),
    ('text_digest', sa.String(length=64)),
]


def upgrade() -> None:
    with op.batch_alter_table('issuer_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', portal.core.db.UTCDateTime(timezone=True), nullable=True))
    # Staff created before e-mail verification existed (demo data, the create-issuer command) count as verified.
    users = sa.table('issuer_users', sa.column('email_verified_at', portal.core.db.UTCDateTime(timezone=True)))
    op.get_bind().execute(users.update().values(email_verified_at=dt.datetime.now(dt.timezone.utc)))
    with op.batch_alter_table('issuer_agreements', schema=None) as batch_op:
        for name, type_ in RECEIPT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('issuer_agreements', schema=None) as batch_op:
        for name, _type in reversed(RECEIPT_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('issuer_users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
