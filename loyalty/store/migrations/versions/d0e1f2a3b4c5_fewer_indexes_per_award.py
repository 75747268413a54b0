"""awards lose their contract and event indexes; only pending lots are indexed by vesting day

Every award wrote six index entries and every lot five; the night writes about 30,000 of each.
`ix_awards_contract` served the clawback of a cancelled contract, and `ix_awards_event_id` the
replay of a draft, and both ask about one customer's awards, which UNIQUE(customer_id, rule_id,
once_key) and `ix_awards_customer_programme_period` already find. Only pending lots have a
`vests_on`, and every reader of `ix_ledger_lots_vesting` compares it with a day, so the index need
not hold the lots without one (decision 39).

Revision ID: d0e1f2a3b4c5
Revises: c9d0e1f2a3b4
Create Date: 2026-12-07 21:40:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'd0e1f2a3b4c5'
down_revision: Union[str, Sequence[str], None] = 'c9d0e1f2a3b4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VESTING = sa.text("vests_on IS NOT NULL")


def upgrade() -> None:
    op.drop_index('ix_awards_contract', table_name='awards')
    op.drop_index('ix_awards_event_id', table_name='awards')
    op.drop_index('ix_ledger_lots_vesting', table_name='ledger_lots')
    op.create_index('ix_ledger_lots_vesting', 'ledger_lots', ['vests_on', 'remaining'], unique=False,
                    sqlite_where=VESTING, postgresql_where=VESTING)


def downgrade() -> None:
    op.drop_index('ix_ledger_lots_vesting', table_name='ledger_lots')
    op.create_index('ix_ledger_lots_vesting', 'ledger_lots', ['vests_on', 'remaining'], unique=False)
    op.create_index('ix_awards_event_id', 'awards', ['event_id'], unique=False)
    op.create_index('ix_awards_contract', 'awards', ['contract_id'], unique=False)
