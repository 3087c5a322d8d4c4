"""lift runs, recorded per row for --undo

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('lift_runs',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=True),
    sa.Column('all_users', sa.Boolean(), nullable=False),
    sa.Column('merge_identical', sa.Boolean(), nullable=False),
    sa.Column('backup', sa.String(), nullable=True),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.Column('undone_at', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lift_runs'))
    )
    op.create_table('lift_run_rows',
    sa.Column('run_id', sa.String(), nullable=False),
    sa.Column('connection_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(), nullable=False),
    sa.Column('former_agent_id', sa.String(), nullable=False),
    sa.Column('former_label', sa.String(), nullable=False),
    sa.Column('new_label', sa.String(), nullable=False),
    sa.Column('merged_into', sa.String(), nullable=True),
    sa.Column('snapshot', sa.String(), nullable=True),
    sa.Column('moved_attachments', sa.String(), nullable=True),
    sa.Column('attached_models', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['lift_runs.id'], name=op.f('fk_lift_run_rows_run_id_lift_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'connection_id', name=op.f('pk_lift_run_rows'))
    )


def downgrade() -> None:
    op.drop_table("lift_run_rows")
    op.drop_table("lift_runs")
