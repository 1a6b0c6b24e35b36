"""The issuer dashboard at any size: indexes for deliveries of the last 30 days by channel, the
consent requests of the last 30 days, and the answers to them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 18:40:00
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_invoices_issuer_delivered', 'invoices',
                    ['issuer_id', 'delivered_at', 'channel', 'kind'], unique=False)
    op.create_index('ix_consent_requests_issuer_created', 'consent_requests', ['issuer_id', 'created_at'],
                    unique=False)
    op.create_index('ix_consent_receipts_request', 'consent_receipts', ['consent_request_id', 'decision'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_consent_receipts_request', table_name='consent_receipts')
    op.drop_index('ix_consent_requests_issuer_created', table_name='consent_requests')
    op.drop_index('ix_invoices_issuer_delivered', table_name='invoices')
