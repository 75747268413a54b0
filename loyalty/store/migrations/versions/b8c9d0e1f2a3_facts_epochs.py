"""customers remember the night epoch of their last fact change; nights record theirs

The daily phase reviewed every customer every night to find the few whose facts had moved. Now
each customer row carries `facts_epoch` (the clock's epoch when a fact a rule can read last
changed: segment, region, locale, start date, contract summary) and `standing_epoch` (the same for
tier and status points, which the night itself moves), both set by the database's own triggers so
that no writer, ORM or driver-level, can forget them. `facts_clock` holds the epoch; each daily
phase advances it and records the one it started under, beside the ruleset version it used
(docs/decisions.md, 29).

Revision ID: b8c9d0e1f2a3
Revises: 7e8f9a0b1c2d
Create Date: 2026-12-07 14:20:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'b8c9d0e1f2a3'
down_revision: Union[str, Sequence[str], None] = '7e8f9a0b1c2d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FACT_COLUMNS = ('segment', 'region', 'locale', 'customer_since', 'since_month_index', 'since_month', 'since_day',
                'active_contracts', 'total_monthly_value', 'main_contract_id', 'main_contract_value',
                'main_term_months', 'main_renewals')
"""Copied, not imported: a migration must not change when the application's code does."""
STANDING_COLUMNS = ('tier', 'status_points')
BIG_INT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EPOCH = "(SELECT epoch FROM facts_clock WHERE id = 1)"


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER customers_facts_epoch_inserted AFTER INSERT ON customers
        BEGIN UPDATE customers SET facts_epoch = {EPOCH} WHERE rowid = NEW.rowid; END""",
    f"""CREATE TRIGGER customers_facts_epoch_changed AFTER UPDATE OF {', '.join(FACT_COLUMNS)} ON customers
        WHEN {_changed(FACT_COLUMNS, 'IS NOT')}
        BEGIN UPDATE customers SET facts_epoch = {EPOCH} WHERE rowid = NEW.rowid; END""",
    f"""CREATE TRIGGER customers_standing_epoch_changed AFTER UPDATE OF {', '.join(STANDING_COLUMNS)} ON customers
        WHEN {_changed(STANDING_COLUMNS, 'IS NOT')}
        BEGIN UPDATE customers SET standing_epoch = {EPOCH} WHERE rowid = NEW.rowid; END""",
)
SQLITE_TRIGGER_NAMES = ('customers_facts_epoch_inserted', 'customers_facts_epoch_changed',
                        'customers_standing_epoch_changed')

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION customers_epochs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.facts_epoch := {EPOCH};
        RETURN NEW;
    END IF;
    IF {_changed(FACT_COLUMNS, 'IS DISTINCT FROM')} THEN
        NEW.facts_epoch := {EPOCH};
    END IF;
    IF {_changed(STANDING_COLUMNS, 'IS DISTINCT FROM')} THEN
        NEW.standing_epoch := {EPOCH};
    END IF;
    RETURN NEW;
END $$"""
POSTGRESQL_TRIGGER = f"""CREATE TRIGGER customers_epochs
    BEFORE INSERT OR UPDATE OF {', '.join(FACT_COLUMNS + STANDING_COLUMNS)} ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_epochs()"""


def upgrade() -> None:
    op.create_table('facts_clock',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('epoch', BIG_INT, nullable=False),
                    sa.CheckConstraint('id = 1', name=op.f('ck_facts_clock_one_row')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_facts_clock')))
    op.execute("INSERT INTO facts_clock (id, epoch) VALUES (1, 1)")
    # plain ADD COLUMN with a constant default: SQLite adds it without copying the table
    op.add_column('customers', sa.Column('facts_epoch', BIG_INT, server_default='0', nullable=False))
    op.add_column('customers', sa.Column('standing_epoch', BIG_INT, server_default='0', nullable=False))
    op.create_index('ix_customers_facts_epoch', 'customers', ['facts_epoch'], unique=False)
    op.add_column('daily_run_phases', sa.Column('ruleset_version', sa.String(length=64), nullable=True))
    op.add_column('daily_run_phases', sa.Column('facts_epoch', BIG_INT, nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER customers_epochs ON customers")
        op.execute("DROP FUNCTION customers_epochs()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    # plain DROP COLUMN (SQLite 3.35+): a batch copy of `customers` cannot insert its generated since_key
    op.drop_column('daily_run_phases', 'facts_epoch')
    op.drop_column('daily_run_phases', 'ruleset_version')
    op.drop_index('ix_customers_facts_epoch', table_name='customers')
    op.drop_column('customers', 'standing_epoch')
    op.drop_column('customers', 'facts_epoch')
    op.drop_table('facts_clock')
