"""SQLModel tables. The schema itself is owned by the Alembic revisions in ``alembic/versions``;
a test asserts that autogenerate finds no difference between the two.

Timestamps are TEXT in ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC), which sorts correctly as text.
Labels and names are stored twice: as given, and folded (``*_key``) for the unique indexes,
because SQLite's ``lower()`` only folds ASCII.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
metadata: MetaData = SQLModel.metadata


def _fk(target: str, ondelete: str, *, nullable: bool, index: bool = False) -> Column:
    return Column(String, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: str = Field(primary_key=True)
    name: str
    name_key: str = Field(unique=True)
    created_at: str


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("user_id", "name_key"),)
    id: str = Field(primary_key=True)
    user_id: str = Field(sa_column=_fk("users.id", "CASCADE", nullable=False))
    name: str
    name_key: str
    display_name: str | None = None
    created_at: str
    # all: may use every user-level connection of its user; listed: only those granted to it
    # (agent_grants). SPEC §10. The server default gives every existing agent `all`.
    access: str = Field(default="all", sa_column_kwargs={"server_default": "all"})


class AgentGrant(SQLModel, table=True):
    """A user-level connection granted to an agent (what a `listed` agent may use)."""

    __tablename__ = "agent_grants"
    agent_id: str = Field(
        sa_column=Column(String, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    )
    connection_id: str = Field(
        sa_column=Column(
            String, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    created_at: str


class Connection(SQLModel, table=True):
    __tablename__ = "connections"
    __table_args__ = (
        # user-level rows: one label per (user, provider, auth type), folded
        Index(
            "uq_connections_user_level_label",
            "user_id", "provider", "auth_type", "label_key",
            unique=True, sqlite_where=text("agent_id IS NULL"),
        ),
        # legacy rows: one label per (user, agent, provider, auth type), folded
        Index(
            "uq_connections_legacy_label",
            "user_id", "agent_id", "provider", "auth_type", "label_key",
            unique=True, sqlite_where=text("agent_id IS NOT NULL"),
        ),
        Index("ix_connections_fingerprint", "user_id", "provider", "auth_type", "key_fingerprint"),
    )
    id: str = Field(primary_key=True)
    user_id: str = Field(sa_column=_fk("users.id", "CASCADE", nullable=False))
    agent_id: str | None = Field(sa_column=_fk("agents.id", "RESTRICT", nullable=True, index=True))
    connected_via_agent_id: str | None = Field(
        sa_column=_fk("agents.id", "SET NULL", nullable=True)
    )
    provider: str
    auth_type: str
    label: str
    label_key: str
    base_url: str | None = None
    enabled: bool = True
    key_stored: bool = False  # the keyring holds a secret for this connection (username = id)
    key_hint: str | None = None
    key_fingerprint: str | None = None
    key_env: str | None = None
    key_source: str = "keyring"
    expires_at: str | None = None
    created_at: str
    updated_at: str


class ModelConfig(SQLModel, table=True):
    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("user_id", "name_key"),
        Index("uq_models_default", "user_id", unique=True, sqlite_where=text("is_default = 1")),
    )
    id: str = Field(primary_key=True)
    user_id: str = Field(sa_column=_fk("users.id", "CASCADE", nullable=False))
    name: str
    name_key: str
    provider: str
    upstream_model: str | None = None  # None: the model's name
    enabled: bool = True
    is_default: bool = False
    created_at: str


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("model_id", "priority"),)
    model_id: str = Field(
        sa_column=Column(String, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    )
    connection_id: str = Field(
        sa_column=Column(
            String, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    priority: int = Field(sa_column=Column(Integer, nullable=False))


class DiscoveredModel(SQLModel, table=True):
    __tablename__ = "discovered_models"
    connection_id: str = Field(
        sa_column=Column(String, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    )
    model_id: str = Field(primary_key=True)
    discovered_at: str


class LiftRun(SQLModel, table=True):
    __tablename__ = "lift_runs"
    id: str = Field(primary_key=True)
    user_id: str | None = None  # the invoking user; all_users says whether others were included
    all_users: bool = False
    merge_identical: bool = False
    backup: str | None = None
    created_at: str
    undone_at: str | None = None


class LiftRunRow(SQLModel, table=True):
    """One legacy row touched by a run: what it was, so ``--undo`` restores it exactly."""

    __tablename__ = "lift_run_rows"
    run_id: str = Field(
        sa_column=Column(String, ForeignKey("lift_runs.id", ondelete="CASCADE"), primary_key=True)
    )
    connection_id: str = Field(primary_key=True)  # no FK: a merged row is gone until undone
    position: int
    action: str  # keep | relabel | merge
    former_agent_id: str
    former_label: str
    new_label: str
    merged_into: str | None = None
    snapshot: str | None = None  # JSON of a merged row (all columns, rowid, discovered models)
    # JSON of a merged row's models: [{"model", "before": [ids], "after": [ids]}], the whole
    # priority list before and after the move, so --undo can put it back exactly
    moved_attachments: str | None = None
    # JSON list of the model ids a kept/relabelled row was attached to right after the lift
    # (null: none): --undo refuses when that changed (attached or detached since)
    attached_models: str | None = None
    # the connection this row's lift granted to its former agent (the row itself, or a merge's
    # target) because that agent was `listed` and had no grant on it; --undo revokes exactly these
    granted: str | None = None


class KeyringJournalEntry(SQLModel, table=True):
    """A keyring write or delete that is under way (SPEC §5; never the secret itself).

    A ``set`` is committed before the keyring is written and deleted in the transaction that
    saves the rows describing the key; a ``delete`` is committed with the change that stops a
    row claiming its key (``providers remove``) and deleted once the keyring entry is gone. So
    an entry outlives its operation only when that operation was interrupted or failed, and
    ``doctor`` reports it (``doctor --fix`` completes or undoes it).
    """

    __tablename__ = "keyring_journal"
    connection_id: str = Field(primary_key=True)  # no FK: the row may be gone (or never saved)
    operation: str  # set | delete
    connection_ref: str  # PROVIDER/AUTH_TYPE/LABEL (agent NAME) then: names a row that is gone
    started_at: str
