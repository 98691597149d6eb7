"""Dashboard cards stored at the end of each assessment (owner: :mod:`radguard.readiness.dashboard`).

The findings and roadmap cards summarise every open finding; computing them inside a page
request costs seconds at 100,000 assets. They are computed once when an assessment writes the
register, kept here as a JSON document with a schema version, and adjusted in place by the
events that change them (a person's decision on a finding).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, JSONDoc, UTCDateTime


class DashboardSnapshot(Base):
    """One row per assessment run; the dashboard reads the newest."""

    __tablename__ = "dashboard_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # When the assessment that produced the cards ran, and when the row was last written.
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    schema_version: Mapped[int] = mapped_column(Integer)
    # True once something the roadmap depends on changed after the cards were computed
    # (a decision, a checklist answer); the next assessment computes them afresh.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the whole roadmap stored with these cards (RoadmapAction rows) was ranked; None for
    # rows written before it was stored.
    ranked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)


class RoadmapAction(Base):
    """One ranked action of the roadmap stored with the newest cards (owner: ``readiness.roadmap_store``).

    ``action`` is the roadmap document's action without its list of findings; ``finding_ids``
    holds that list as the findings' IDs in the action's order (little-endian 64-bit integers:
    half a million findings are 4 MB to write, where their JSON was over 100 MB), resolved from
    the findings register only when a whole export asks for them.
    """

    __tablename__ = "roadmap_action"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("dashboard_snapshot.id", ondelete="CASCADE"),
                                             primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    finding_ids: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class RoadmapActionSite(Base):
    """How many of an action's findings are at one site (``site_id`` None: organization-wide ones).

    A site's view of the roadmap reads these few rows instead of every open finding of the site.
    """

    __tablename__ = "roadmap_action_site"
    __table_args__ = (Index("ix_roadmap_action_site_snapshot_site", "snapshot_id", "site_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("dashboard_snapshot.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    findings: Mapped[int] = mapped_column(Integer)
    # The first few of them in the action's order, as the document lists findings: what a page
    # shows before "and N more".
    first: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    # What ranking a site's view needs (readiness.roadmap_store.scoped_roadmap): the summed risk
    # scores of these findings, their severities (the pin rule), and each asset owner as
    # [owner, findings, first finding's risk, its ID]. None in rows stored before revision 0042.
    risk: Mapped[int | None] = mapped_column(Integer)
    severities: Mapped[list[str] | None] = mapped_column(JSONDoc)
    owners: Mapped[list[list[Any]] | None] = mapped_column(JSONDoc)
