"""Credit notes (kreditnota): an issued invoice is corrected by a credit note of its own, never
changed. A document kind on invoices, the credited invoice, how much of an invoice has been
credited (never more than its total: a check constraint), and the credited line per line.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('invoice', 'credit_note', name='document_kind',
                                                      native_enum=False, length=20),
                                      server_default='invoice', nullable=False))
        batch_op.add_column(sa.Column('credits_invoice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credited_ore', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('credit_reason', sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoices_credits_invoice_id_invoices'), 'invoices',
                                    ['credits_invoice_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_invoices_credits_invoice_id'), ['credits_invoice_id'], unique=False)
        batch_op.create_index('ix_invoices_issuer_kind_created', ['issuer_id', 'kind', 'created_at', 'id'],
                              unique=False)
        batch_op.create_check_constraint(
            'credited_within_total', 'credited_ore >= 0 AND (credited_ore = 0 OR credited_ore <= total_ore)')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits_line_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_credits_line_id_invoice_lines'), 'invoice_lines',
                                    ['credits_line_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_invoice_lines_credits_line_id'), ['credits_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_credits_line_id'))
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_credits_line_id_invoice_lines'), type_='foreignkey')
        batch_op.drop_column('credits_line_id')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoices_credited_within_total'), type_='check')
        batch_op.drop_index('ix_invoices_issuer_kind_created')
        batch_op.drop_index(batch_op.f('ix_invoices_credits_invoice_id'))
        batch_op.drop_constraint(batch_op.f('fk_invoices_credits_invoice_id_invoices'), type_='foreignkey')
        batch_op.drop_column('credit_reason')
        batch_op.drop_column('credited_ore')
        batch_op.drop_column('credits_invoice_id')
        batch_op.drop_column('kind')
