"""PostgreSQL: the inventory list's columns included in the (site, name) unique index (issue 18)

``/inventory?page=1000`` is ``ORDER BY site_id, name OFFSET 49950 LIMIT 51``. PostgreSQL walked
``uq_asset_site_id_name`` and fetched each of the 50,001 rows from the table to read the listed
columns (EXPLAIN ANALYZE: 148 ms). With those columns in the index (``INCLUDE``) the walk is an
index-only scan that reads no table page the visibility map marks all-visible (autovacuum keeps
it current). The constraint is recreated in place under the same name, so ``ON CONFLICT
(site_id, name)`` and the models are unchanged. SQLite has no INCLUDE and needs none: its walk
defers the table read to the rows it returns.

Revision ID: 0041_asset_list_covering
Revises: 0040_login_strikes
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0041_asset_list_covering"
down_revision: str | Sequence[str] | None = "0040_login_strikes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDE = ("id", "asset_class", "modality_type", "vendor", "product", "software_version", "criticality",
           "confirmed", "risk_score", "open_findings", "last_seen")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE asset DROP CONSTRAINT uq_asset_site_id_name, "
               f"ADD CONSTRAINT uq_asset_site_id_name UNIQUE (site_id, name) INCLUDE ({', '.join(INCLUDE)})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE asset DROP CONSTRAINT uq_asset_site_id_name, "
               "ADD CONSTRAINT uq_asset_site_id_name UNIQUE (site_id, name)")
