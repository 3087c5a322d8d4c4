"""agents and access: an access mode per agent, the grants of listed agents, and the grants
a lift made (SPEC §10)

Revision ID: 0006
Revises: 0005

It only adds a column to ``agents`` (every existing agent gets ``all``) and to
``lift_run_rows``, and creates ``agent_grants``.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # every existing agent keeps what it had: every user-level connection of its user
    op.add_column('agents', sa.Column('access', sa.String(), server_default='all', nullable=False))
    op.create_table('agent_grants',
    sa.Column('agent_id', sa.String(), nullable=False),
    sa.Column('connection_id', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_grants_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_agent_grants_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'connection_id', name=op.f('pk_agent_grants'))
    )
    op.create_index(op.f('ix_agent_grants_connection_id'), 'agent_grants', ['connection_id'], unique=False)
    op.add_column('lift_run_rows', sa.Column('granted', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lift_run_rows') as batch:
        batch.drop_column('granted')
    op.drop_index(op.f('ix_agent_grants_connection_id'), table_name='agent_grants')
    op.drop_table('agent_grants')
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('access')
