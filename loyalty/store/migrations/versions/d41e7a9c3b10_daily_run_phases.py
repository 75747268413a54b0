"""daily_run_phases: the nightly run's progress per date and phase (the nightly run's table only)

Revision ID: d41e7a9c3b10
Revises: e4ea2ce71ed4
Create Date: 2026-11-25 04:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = 'd41e7a9c3b10'
down_revision: Union[str, Sequence[str], None] = 'e4ea2ce71ed4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('daily_run_phases',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('phase', sa.String(length=32), nullable=False),
    sa.Column('last_customer_id', sa.String(length=64), nullable=True),
    sa.Column('customers', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('awards', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('moved', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('day', 'phase', name=op.f('pk_daily_run_phases'))
    )


def downgrade() -> None:
    op.drop_table('daily_run_phases')
