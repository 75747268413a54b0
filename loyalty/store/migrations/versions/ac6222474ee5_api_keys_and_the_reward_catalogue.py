"""api keys and the reward catalogue

Trimmed from autogenerate to the API's own tables; the others add theirs.

Revision ID: ac6222474ee5
Revises: d41e7a9c3b10
Create Date: 2026-11-25 04:21:41.135742
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = 'ac6222474ee5'
down_revision: Union[str, Sequence[str], None] = 'd41e7a9c3b10'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'customer') = (customer_id IS NOT NULL)", name=op.f('ck_api_keys_customer_key_names_customer')),
    sa.CheckConstraint("role IN ('marketing', 'billing', 'customer', 'admin')", name=op.f('ck_api_keys_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_customer_id'), ['customer_id'], unique=False)

    op.create_table('rewards',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('points_cost', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('stock_taken', sa.Integer(), nullable=False),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('value', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('per_customer_limit IS NULL OR per_customer_limit > 0', name=op.f('ck_rewards_limit_positive')),
    sa.CheckConstraint('points_cost >= 0', name=op.f('ck_rewards_points_cost_not_negative')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_rewards_stock_not_negative')),
    sa.CheckConstraint('stock_taken >= 0', name=op.f('ck_rewards_stock_taken_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards'))
    )


def downgrade() -> None:
    op.drop_table('rewards')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_customer_id'))

    op.drop_table('api_keys')
