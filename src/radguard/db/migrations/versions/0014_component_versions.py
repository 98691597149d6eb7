"""software components: one row per version, not per product

An SBOM may list one library in two versions (a device bundling OpenSSL 1.1.1 and 3.0); the
old key (asset, vendor, product) kept only the first, so an advisory for the other version
could not match.

Revision ID: 0014_component_versions
Revises: 0013_finding_lean
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0014_component_versions"
down_revision: str | Sequence[str] | None = "0013_finding_lean"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("software_component", schema=None) as batch_op:
        batch_op.drop_constraint("uq_software_component_asset_id_vendor_product", type_="unique")
        batch_op.create_unique_constraint("uq_software_component_asset_id_vendor_product_version",
                                          ["asset_id", "vendor", "product", "version"])


def downgrade() -> None:
    # Keeps the first row (lowest id) of each (asset, vendor, product), as the old key allowed.
    op.execute("DELETE FROM software_component WHERE id NOT IN "
               "(SELECT min(id) FROM software_component GROUP BY asset_id, vendor, product)")
    with op.batch_alter_table("software_component", schema=None) as batch_op:
        batch_op.drop_constraint("uq_software_component_asset_id_vendor_product_version", type_="unique")
        batch_op.create_unique_constraint("uq_software_component_asset_id_vendor_product",
                                          ["asset_id", "vendor", "product"])
