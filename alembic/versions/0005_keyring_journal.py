"""keyring journal: keyring writes and deletes under way

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('keyring_journal',
    sa.Column('connection_id', sa.String(), nullable=False),
    sa.Column('operation', sa.String(), nullable=False),
    sa.Column('connection_ref', sa.String(), nullable=False),
    sa.Column('started_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_keyring_journal'))
    )


def downgrade() -> None:
    op.drop_table("keyring_journal")
