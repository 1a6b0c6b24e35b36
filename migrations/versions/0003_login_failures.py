"""Failed staff log-ins, to pause password guessing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:15:24.384921
"""
from alembic import op
import sqlalchemy as sa
import portal.core.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm', sa.String(length=20), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_account', ['realm', 'account', 'created_at'], unique=False)
        batch_op.create_index('ix_login_failures_address', ['realm', 'address', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_address')
        batch_op.drop_index('ix_login_failures_account')

    op.drop_table('login_failures')
