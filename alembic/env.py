"""Alembic environment: SQLModel metadata, batch mode for SQLite, the caller's connection."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from provctl.db.models import metadata

config = context.config


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:  # developer use: `alembic revision --autogenerate` with alembic.ini
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        run(conn)
