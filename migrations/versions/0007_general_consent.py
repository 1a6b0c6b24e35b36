"""eFaktura 2.0: general consent in the nettbank, blocks of single issuers, the consumer's
known mobiles and e-mail addresses, receipts, and each invoice's route and recipient.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 16:00:00
"""
import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('general_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('given_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('changed_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_general_consents_consumer_id_consumers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_general_consents')),
    sa.UniqueConstraint('consumer_id', name=op.f('uq_general_consents_consumer_id'))
    )
    op.create_table('issuer_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_issuer_blocks_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_issuer_blocks_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_blocks')),
    sa.UniqueConstraint('consumer_id', 'issuer_id', name='uq_issuer_blocks_consumer_issuer')
    )
    with op.batch_alter_table('issuer_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_blocks_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('consumer_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_consumer_addresses_consumer_id_consumers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consumer_addresses')),
    sa.UniqueConstraint('consumer_id', 'kind', 'value', name='uq_consumer_addresses_consumer_kind_value')
    )
    with op.batch_alter_table('consumer_addresses', schema=None) as batch_op:
        batch_op.create_index('ix_consumer_addresses_kind_value', ['kind', 'value'], unique=False)

    op.create_table('general_consent_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=254), nullable=False),
    sa.Column('text_version', sa.String(length=40), nullable=False),
    sa.Column('shown_text', sa.String(length=4000), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('bankid_sub', sa.String(length=255), nullable=False),
    sa.Column('bankid_acr', sa.String(length=100), nullable=True),
    sa.Column('decided_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_general_consent_receipts_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_general_consent_receipts_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_general_consent_receipts'))
    )
    with op.batch_alter_table('general_consent_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_general_consent_receipts_consumer', ['consumer_id', 'decided_at', 'id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('consumer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoices_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_invoices_consumer_id_consumers'), 'consumers',
                                    ['consumer_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoices_consumer_id_consumers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invoices_consumer_id'))
        batch_op.drop_column('consumer_id')
        batch_op.drop_column('route')
    with op.batch_alter_table('general_consent_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_general_consent_receipts_consumer')
    op.drop_table('general_consent_receipts')
    with op.batch_alter_table('consumer_addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_consumer_addresses_kind_value')
    op.drop_table('consumer_addresses')
    with op.batch_alter_table('issuer_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_blocks_issuer_id'))
    op.drop_table('issuer_blocks')
    op.drop_table('general_consents')
