"""merge the stage migrations into one line

Every stage (feeds, discovery, checklists, response, vendors, backup, web) branched from
0004_findings while they were built in parallel; this revision joins them so that later
migrations have a single parent.

Revision ID: 0011_merge_stages
Revises: 0002_feeds, 0003_discovery, 0005_checklists, 0006_response, 0007_vendors, 0008_backup, 0010_web
"""
from collections.abc import Sequence

revision: str = "0011_merge_stages"
down_revision: str | Sequence[str] | None = (
    "0002_feeds", "0003_discovery", "0005_checklists", "0006_response", "0007_vendors", "0008_backup", "0010_web",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
