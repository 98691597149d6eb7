"""the inventory search: a substring index over an asset's name, vendor and product (issue 18)

``/inventory?q=`` and ``/api/v1/assets?q=`` find assets whose name, vendor or product contains
the text (radguard.inventory.queries.query_assets). As ``LIKE '%text%'`` that reads all 100,000
rows for the page and again for the count; a trigram index answers it from the index instead.

- SQLite: an FTS5 table with the trigram tokenizer (substring match, case-insensitive) over
  ``asset`` as external content, so the text is not stored twice; triggers on ``asset`` keep it
  current for every writer. A later batch migration that rebuilds ``asset`` drops these triggers
  with the old table and must create them again (tests/inventory/test_search.py checks they exist).
- PostgreSQL: pg_trgm (a trusted extension since PostgreSQL 13, so the database owner may create
  it) and one GIN trigram index per searched column, so ``ILIKE '%text%'`` is a bitmap index scan.

Neither is in the models (radguard.db.search.is_search_object keeps autogenerate and the schema
comparison away from them).

Revision ID: 0039_asset_search
Revises: 0038_segmentation_policy
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0039_asset_search"
down_revision: str | Sequence[str] | None = "0038_segmentation_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("name", "vendor", "product")
_COLS = ", ".join(COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in COLUMNS)
SQLITE_TRIGGERS = {
    "asset_search_insert": f"AFTER INSERT ON asset BEGIN "
                           f"INSERT INTO asset_search (rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
    "asset_search_delete": f"AFTER DELETE ON asset BEGIN "
                           f"INSERT INTO asset_search (asset_search, rowid, {_COLS}) "
                           f"VALUES ('delete', old.id, {_OLD}); END",
    "asset_search_update": f"AFTER UPDATE OF {_COLS} ON asset BEGIN "
                           f"INSERT INTO asset_search (asset_search, rowid, {_COLS}) "
                           f"VALUES ('delete', old.id, {_OLD}); "
                           f"INSERT INTO asset_search (rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
}


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE asset_search USING fts5({_COLS}, content='asset', "
                   "content_rowid='id', tokenize='trigram')")
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO asset_search (asset_search) VALUES ('rebuild')")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_asset_{column}_trgm ON asset USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE asset_search")
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX ix_asset_{column}_trgm")
