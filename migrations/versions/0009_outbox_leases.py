"""Outbox leases: when a lease was taken; an installation id that keeps idempotency keys unique.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 15:00:00
"""
import uuid

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_at', portal.core.db.UTCDateTime(timezone=True), nullable=True))
    installation = op.create_table(
        'installation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=32), nullable=False),
        sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_installation')),
    )
    op.bulk_insert(installation, [{'id': 1, 'uuid': uuid.uuid4().hex,
                                   'created_at': portal.core.db.utcnow()}])


def downgrade() -> None:
    op.drop_table('installation')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
