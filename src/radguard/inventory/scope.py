"""Which sites a caller may see: the one rule every stage's read functions apply.

A :data:`SiteScope` is ``None`` — every site (the CLI, an account not limited to sites) — or a
frozenset of site codes: a site-scoped account sees only those sites' assets and what hangs off
them (findings, endpoints, drills and backup sets of those sites). The web layer fills it from
the signed-in principal (``radguard.web.security.Principal.sites``), never from a query
parameter, and passes it to the stage functions, so a route cannot leak another site's rows by
forgetting a filter: the functions that own the data apply it (docs/identity.md).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.inventory import Site

SiteScope = frozenset[str] | None


def scope_site_ids(session: Session, scope: SiteScope) -> list[int] | None:
    """The IDs of the sites in ``scope`` (None: no limit; an empty list: nothing is visible).

    :param session: the database session.
    :param scope: None, or the site codes the caller may see.
    """
    if scope is None:
        return None
    if not scope:
        return []
    return list(session.scalars(select(Site.id).where(Site.code.in_(sorted(scope))).order_by(Site.id)))


def site_visible(code: str | None, scope: SiteScope) -> bool:
    """Whether a row of the site ``code`` (None: of no site, organisation-wide) is in ``scope``.

    Organisation-wide rows are visible only to callers without a site limit: they are not any
    one site's, and a site's staff deciding or reading them would reach beyond their sites.

    :param code: the row's site code, or None.
    :param scope: None, or the site codes the caller may see.
    """
    return scope is None or (code is not None and code in scope)
