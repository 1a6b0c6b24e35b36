"""The everyday experience: short links for the consent SMS (one segment); the issuer's VAT
registration (from the business register) and its opt-in daily digest.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import portal.core.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_registered', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('digest_opt_in', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('short_links',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_short_links'))
    )
    with op.batch_alter_table('short_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_short_links_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('short_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_short_links_expires_at'))
    op.drop_table('short_links')
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('digest_opt_in')
        batch_op.drop_column('vat_registered')
