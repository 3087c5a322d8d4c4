"""models and their ordered attachments

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('models',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('name_key', sa.String(), nullable=False),
    sa.Column('provider', sa.String(), nullable=False),
    sa.Column('upstream_model', sa.String(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_models_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_models')),
    sa.UniqueConstraint('user_id', 'name_key', name=op.f('uq_models_user_id_name_key'))
    )
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.create_index('uq_models_default', ['user_id'], unique=True, sqlite_where=sa.text('is_default = 1'))
    op.create_table('attachments',
    sa.Column('model_id', sa.String(), nullable=False),
    sa.Column('connection_id', sa.String(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_attachments_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_attachments_model_id_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'connection_id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('model_id', 'priority', name=op.f('uq_attachments_model_id_priority'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_connection_id'), ['connection_id'], unique=False)


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("models")
