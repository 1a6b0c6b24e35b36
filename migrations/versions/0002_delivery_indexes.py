"""Delivery engine: indexes for the development mailbox and the print batches.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mailbox_messages_created", "mailbox_messages", ["created_at", "id"])
    op.create_index("ix_print_jobs_issuer_batch", "print_jobs", ["issuer_id", "batch_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_print_jobs_issuer_batch", table_name="print_jobs")
    op.drop_index("ix_mailbox_messages_created", table_name="mailbox_messages")
