"""the night finds the active contracts whose end has come from an index

The contracts phase asked for active contracts with `end <= day`, customer by customer, and the
databases answered by walking every contract in customer order: 0.43 s a night on SQLite for 1.5M
contracts, to end none. A partial index on the active contracts' end (with the customer, which is
all the phase reads) holds only what can still end.

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-07 15:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'c9d0e1f2a3b4'
down_revision: Union[str, Sequence[str], None] = 'b8c9d0e1f2a3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_index('ix_contracts_active_end', 'contracts', ['end', 'customer_id'], unique=False,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('ix_contracts_active_end', table_name='contracts')
