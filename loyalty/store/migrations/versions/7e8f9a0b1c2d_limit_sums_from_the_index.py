"""budget and cap sums from the index alone; the events' redundant customer index goes

Every award checks its programme's budget (and the customer's cap): a sum of the points of the
programme's awards in the period. With status and points in the two period indexes the sum reads
the index alone instead of every award row it counts. `ix_events_customer_id` repeated the first
column of UNIQUE(customer_id, subject), which serves the same lookups; every event paid for it.

Revision ID: 7e8f9a0b1c2d
Revises: 5c1d2e3f4a6b
Create Date: 2026-11-25 07:40:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '7e8f9a0b1c2d'
down_revision: Union[str, Sequence[str], None] = '5c1d2e3f4a6b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PERIOD_INDEXES = {
    'ix_awards_programme_period': ['programme_id', 'awarded_on'],
    'ix_awards_customer_programme_period': ['customer_id', 'programme_id', 'awarded_on'],
}


def upgrade() -> None:
    with op.batch_alter_table('awards', schema=None) as batch_op:
        for name, columns in PERIOD_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [*columns, 'status', 'points'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_customer_id')


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_customer_id', ['customer_id'], unique=False)
    with op.batch_alter_table('awards', schema=None) as batch_op:
        for name, columns in PERIOD_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
