"""foundation: users, agents, connections, meta (per-database HMAC salt)

Revision ID: 0001
Revises: 
"""
from typing import Sequence, Union

import secrets

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('meta',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('name_key', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name_key', name=op.f('uq_users_name_key'))
    )
    op.create_table('agents',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('name_key', sa.String(), nullable=False),
    sa.Column('display_name', sa.String(), nullable=True),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('user_id', 'name_key', name=op.f('uq_agents_user_id_name_key'))
    )
    op.create_table('connections',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('agent_id', sa.String(), nullable=True),
    sa.Column('connected_via_agent_id', sa.String(), nullable=True),
    sa.Column('provider', sa.String(), nullable=False),
    sa.Column('auth_type', sa.String(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('label_key', sa.String(), nullable=False),
    sa.Column('base_url', sa.String(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('key_stored', sa.Boolean(), nullable=False),
    sa.Column('key_hint', sa.String(), nullable=True),
    sa.Column('key_fingerprint', sa.String(), nullable=True),
    sa.Column('key_env', sa.String(), nullable=True),
    sa.Column('key_source', sa.String(), nullable=False),
    sa.Column('expires_at', sa.String(), nullable=True),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.Column('updated_at', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_connections_agent_id_agents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['connected_via_agent_id'], ['agents.id'], name=op.f('fk_connections_connected_via_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_connections_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_connections_fingerprint', ['user_id', 'provider', 'auth_type', 'key_fingerprint'], unique=False)
        batch_op.create_index('uq_connections_legacy_label', ['user_id', 'agent_id', 'provider', 'auth_type', 'label_key'], unique=True, sqlite_where=sa.text('agent_id IS NOT NULL'))
        batch_op.create_index('uq_connections_user_level_label', ['user_id', 'provider', 'auth_type', 'label_key'], unique=True, sqlite_where=sa.text('agent_id IS NULL'))
    op.execute(
        sa.text("INSERT INTO meta (key, value) VALUES ('salt', :salt)").bindparams(
            salt=secrets.token_hex(32)
        )
    )


def downgrade() -> None:
    op.drop_table("connections")
    op.drop_table("agents")
    op.drop_table("users")
    op.drop_table("meta")
