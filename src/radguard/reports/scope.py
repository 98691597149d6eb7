"""What a report covers (all sites or one) and how sections find out whether data exists.

Other stages add their tables over time; a report must work on a database made before a stage
existed, so sections ask :func:`has_table` rather than assuming.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.inventory import Site
from radguard.errors import NotFoundError
from radguard.inventory.scope import SiteScope


@dataclass
class Scope:
    """The report's subject: ``site`` is a site code, or None for the whole organization.

    ``visible`` is the sites of a reader limited to them (:mod:`radguard.inventory.scope`; None:
    no limit): the reports and table exports then hold only those sites' rows (each section
    passes it to its owner's read function as ``scope=``), organisation-wide parts are labelled
    as such, and another ``site`` is "not found". OSCAL documents are not cut this way (the web
    refuses them to such a reader; docs/identity.md).
    """

    session: Session
    site: str | None = None
    now: datetime = field(default_factory=utcnow)
    _tables: set[str] | None = None
    visible: SiteScope = None

    @property
    def limited(self) -> bool:
        """Whether the reader is limited to some sites (the report is then cut to them)."""
        return self.visible is not None

    def has_table(self, name: str) -> bool:
        if self._tables is None:
            self._tables = set(inspect(self.session.get_bind()).get_table_names())
        return name in self._tables

    def site_id(self) -> int | None:
        if self.site is None:
            return None
        sid = self.session.scalar(select(Site.id).where(Site.code == self.site))
        if sid is not None and self.visible is not None and self.site not in self.visible:
            raise NotFoundError(f"no site with code {self.site!r} among your sites")
        if sid is None:
            codes = ", ".join(self.session.scalars(select(Site.code).order_by(Site.code))) or "none"
            raise NotFoundError(f"no site with code {self.site!r} (known sites: {codes})")
        return sid
