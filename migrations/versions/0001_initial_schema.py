"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 08:54:27.017033
"""
from alembic import op
import sqlalchemy as sa
import portal.core.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consumers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('nnin_hash', sa.String(length=64), nullable=True),
    sa.Column('nnin_masked', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consumers')),
    sa.UniqueConstraint('nnin_hash', name=op.f('uq_consumers_nnin_hash')),
    sa.UniqueConstraint('sub', name=op.f('uq_consumers_sub'))
    )
    op.create_table('issuers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_number', sa.String(length=9), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('account_number', sa.String(length=11), nullable=True),
    sa.Column('uses_avtalegiro', sa.Boolean(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('b2c_active_since', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuers')),
    sa.UniqueConstraint('org_number', name=op.f('uq_issuers_org_number'))
    )
    op.create_table('mailbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('attachment_name', sa.String(length=200), nullable=True),
    sa.Column('attachment', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_mailbox_messages_idempotency_key'))
    )
    with op.batch_alter_table('mailbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailbox_messages_recipient'), ['recipient'], unique=False)

    op.create_table('support_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_users')),
    sa.UniqueConstraint('email', name=op.f('uq_support_users_email'))
    )
    op.create_table('used_tokens',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('used_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_used_tokens'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('customer_number', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.Enum('person', 'company', name='contact_kind', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_number', sa.String(length=9), nullable=True),
    sa.Column('mobile', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address_line', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('access_point', sa.String(length=10), nullable=True),
    sa.Column('receive_edocuments', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_contacts_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_contacts_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('issuer_id', 'customer_number', name='uq_contacts_issuer_customer_number')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_email'), ['email'], unique=False)
        batch_op.create_index('ix_contacts_issuer_name', ['issuer_id', 'name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_mobile'), ['mobile'], unique=False)

    op.create_table('issuer_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_issuer_users_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_users')),
    sa.UniqueConstraint('email', name=op.f('uq_issuer_users_email'))
    )
    with op.batch_alter_table('issuer_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_users_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('support_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('support_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=30), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['support_user_id'], ['support_users.id'], name=op.f('fk_support_audit_support_user_id_support_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_audit'))
    )
    with op.batch_alter_table('support_audit', schema=None) as batch_op:
        batch_op.create_index('ix_support_audit_created', ['created_at', 'id'], unique=False)

    op.create_table('efaktura_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('requested', 'active', 'declined', 'expired', 'stopped', 'terminated', name='agreement_state', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state_changed_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_efaktura_agreements_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_efaktura_agreements_contact_id_contacts')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_efaktura_agreements_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_efaktura_agreements')),
    sa.UniqueConstraint('issuer_id', 'contact_id', name='uq_efaktura_agreements_issuer_contact')
    )
    with op.batch_alter_table('efaktura_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_efaktura_agreements_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index('ix_efaktura_agreements_issuer_state', ['issuer_id', 'state'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('kid', sa.String(length=25), nullable=False),
    sa.Column('account_number', sa.String(length=11), nullable=False),
    sa.Column('net_ore', sa.BigInteger(), nullable=False),
    sa.Column('vat_ore', sa.BigInteger(), nullable=False),
    sa.Column('total_ore', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'held', 'sending', 'delivered', 'failed', name='invoice_state', native_enum=False, length=20), nullable=False),
    sa.Column('channel', sa.Enum('nettbank', 'email', 'post', name='delivery_channel', native_enum=False, length=20), nullable=True),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('held_until', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_invoices_contact_id_contacts')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_invoices_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('issuer_id', 'number', name='uq_invoices_issuer_number')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_contact_state', ['contact_id', 'state'], unique=False)
        batch_op.create_index('ix_invoices_issuer_channel_created', ['issuer_id', 'channel', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_invoices_issuer_contact_created', ['issuer_id', 'contact_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_invoices_issuer_created', ['issuer_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_invoices_issuer_state_created', ['issuer_id', 'state', 'created_at', 'id'], unique=False)

    op.create_table('issuer_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('approver_name', sa.String(length=200), nullable=False),
    sa.Column('approver_email', sa.String(length=254), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'withdrawn', name='issuer_agreement_state', native_enum=False, length=20), nullable=False),
    sa.Column('stop_avtalegiro', sa.Boolean(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('link_sent_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_issuer_agreements_issuer_id_issuers')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['issuer_users.id'], name=op.f('fk_issuer_agreements_requested_by_id_issuer_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_agreements'))
    )
    with op.batch_alter_table('issuer_agreements', schema=None) as batch_op:
        batch_op.create_index('ix_issuer_agreements_issuer', ['issuer_id', 'state'], unique=False)

    op.create_table('consent_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['efaktura_agreements.id'], name=op.f('fk_consent_requests_agreement_id_efaktura_agreements')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_consent_requests_contact_id_contacts')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_consent_requests_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_requests'))
    )
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_requests_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_requests_contact_id'), ['contact_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('subject_type', sa.String(length=30), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=30), nullable=True),
    sa.Column('to_state', sa.String(length=30), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_events_contact_id_contacts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_events_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_events_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_contact', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_events_invoice', ['invoice_id', 'created_at'], unique=False)
        batch_op.create_index('ix_events_issuer', ['issuer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_events_subject', ['subject_type', 'subject_id', 'created_at'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit_price_ore', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate_percent', sa.Integer(), nullable=False),
    sa.Column('line_net_ore', sa.BigInteger(), nullable=False),
    sa.Column('line_vat_ore', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('nettbank_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('delivered_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_nettbank_documents_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_nettbank_documents_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nettbank_documents')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_nettbank_documents_invoice_id'))
    )
    with op.batch_alter_table('nettbank_documents', schema=None) as batch_op:
        batch_op.create_index('ix_nettbank_documents_consumer', ['consumer_id', 'delivered_at', 'id'], unique=False)

    op.create_table('print_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('batch_date', sa.Date(), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_print_jobs_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_print_jobs_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_print_jobs_invoice_id'))
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_batch_date'), ['batch_date'], unique=False)

    op.create_table('consent_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('consent_request_id', sa.Integer(), nullable=True),
    sa.Column('consumer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('text_version', sa.String(length=40), nullable=False),
    sa.Column('shown_text', sa.String(length=4000), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('bankid_sub', sa.String(length=255), nullable=False),
    sa.Column('bankid_acr', sa.String(length=100), nullable=True),
    sa.Column('decided_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['efaktura_agreements.id'], name=op.f('fk_consent_receipts_agreement_id_efaktura_agreements')),
    sa.ForeignKeyConstraint(['consent_request_id'], ['consent_requests.id'], name=op.f('fk_consent_receipts_consent_request_id_consent_requests')),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_consent_receipts_consumer_id_consumers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_receipts'))
    )
    with op.batch_alter_table('consent_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_receipts_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_receipts_consumer_id'), ['consumer_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('email', 'sms', 'nettbank', 'post', 'consent_deadline', 'consent_expiry', name='outbox_kind', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'dead', 'cancelled', name='outbox_status', native_enum=False, length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('consent_request_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('available_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['consent_request_id'], ['consent_requests.id'], name=op.f('fk_outbox_consent_request_id_consent_requests')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_outbox_contact_id_contacts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_outbox_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_outbox_issuer_id_issuers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_consent_request_id'), ['consent_request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'available_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_outbox_issuer_status', ['issuer_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_issuer_status')
        batch_op.drop_index(batch_op.f('ix_outbox_invoice_id'))
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index(batch_op.f('ix_outbox_contact_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_consent_request_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('consent_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_receipts_consumer_id'))
        batch_op.drop_index(batch_op.f('ix_consent_receipts_agreement_id'))

    op.drop_table('consent_receipts')
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_jobs_batch_date'))

    op.drop_table('print_jobs')
    with op.batch_alter_table('nettbank_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_nettbank_documents_consumer')

    op.drop_table('nettbank_documents')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_subject')
        batch_op.drop_index('ix_events_issuer')
        batch_op.drop_index('ix_events_invoice')
        batch_op.drop_index('ix_events_contact')

    op.drop_table('events')
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_requests_contact_id'))
        batch_op.drop_index(batch_op.f('ix_consent_requests_agreement_id'))

    op.drop_table('consent_requests')
    with op.batch_alter_table('issuer_agreements', schema=None) as batch_op:
        batch_op.drop_index('ix_issuer_agreements_issuer')

    op.drop_table('issuer_agreements')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_issuer_state_created')
        batch_op.drop_index('ix_invoices_issuer_created')
        batch_op.drop_index('ix_invoices_issuer_contact_created')
        batch_op.drop_index('ix_invoices_issuer_channel_created')
        batch_op.drop_index('ix_invoices_contact_state')

    op.drop_table('invoices')
    with op.batch_alter_table('efaktura_agreements', schema=None) as batch_op:
        batch_op.drop_index('ix_efaktura_agreements_issuer_state')
        batch_op.drop_index(batch_op.f('ix_efaktura_agreements_consumer_id'))

    op.drop_table('efaktura_agreements')
    with op.batch_alter_table('support_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_support_audit_created')

    op.drop_table('support_audit')
    with op.batch_alter_table('issuer_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_users_issuer_id'))

    op.drop_table('issuer_users')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_mobile'))
        batch_op.drop_index('ix_contacts_issuer_name')
        batch_op.drop_index(batch_op.f('ix_contacts_email'))
        batch_op.drop_index(batch_op.f('ix_contacts_consumer_id'))

    op.drop_table('contacts')
    op.drop_table('used_tokens')
    op.drop_table('support_users')
    with op.batch_alter_table('mailbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailbox_messages_recipient'))

    op.drop_table('mailbox_messages')
    op.drop_table('issuers')
    op.drop_table('consumers')
