"""Invoice e-mails are their own outbox kind instead of an e-mail with a payload marker.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:30:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('kind', sa.String(20)),
                  sa.column('payload', sa.JSON))


def _payload(raw):
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return {}
    return raw or {}


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.kind == 'email')).all()
    ids = [row.id for row in rows if _payload(row.payload).get('purpose') == 'invoice']
    for start in range(0, len(ids), 500):
        conn.execute(outbox.update().where(outbox.c.id.in_(ids[start:start + 500])).values(kind='invoice_email'))


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.kind == 'invoice_email')).all()
    for row in rows:
        payload = dict(_payload(row.payload), purpose='invoice')
        conn.execute(outbox.update().where(outbox.c.id == row.id).values(kind='email', payload=payload))
