"""Performance: an index for Sent documents filtered by issue date, one for the three-day sweep,
and the table that keeps each invoice's PDF once it is rendered.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import portal.core.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_invoices_issuer_issued_created', 'invoices',
                    ['issuer_id', 'issue_date', 'created_at', 'id'], unique=False)
    op.create_index('ix_invoices_state_held_until', 'invoices', ['state', 'held_until', 'id'], unique=False)
    op.create_table('invoice_pdfs',
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('invoice_version', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_pdfs_invoice_id_invoices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoice_pdfs'))
    )


def downgrade() -> None:
    op.drop_table('invoice_pdfs')
    op.drop_index('ix_invoices_state_held_until', table_name='invoices')
    op.drop_index('ix_invoices_issuer_issued_created', table_name='invoices')
