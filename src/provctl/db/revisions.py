"""Schema revisions known to this code (stdlib only, so start-up can check them without Alembic).

A test asserts these equal the Alembic script directory's chain.
"""

REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
HEAD = REVISIONS[-1]
