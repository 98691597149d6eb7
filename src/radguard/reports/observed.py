"""Reduce the database to what framework coverage needs: evaluated checks, open findings, answers."""

from __future__ import annotations

from radguard.checks.findings import list_findings
from radguard.db.models.checklists import ChecklistAnswer, ChecklistAssessment
from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.frameworks.coverage import Answer, Observed
from radguard.readiness.checklists.assessments import current_assessment
from radguard.reports.scope import Scope
from radguard.wording import subject


def _finding_label(f: Finding, asset_name: str | None) -> str:
    return f"{asset_name or subject(f.subject)}: {f.title}"


def observe(scope: Scope) -> Observed:
    obs = Observed()
    session = scope.session
    any_finding = False
    # The findings stage's one listing, with its site rule (a site's assets plus organisation-wide).
    for f in list_findings(session, site=scope.site, scope=scope.visible):
        any_finding = True
        obs.evaluated_checks.add(f.check_id)
        if f.state in OPEN_STATES:
            obs.open_findings.setdefault(f.check_id, []).append(
                _finding_label(f, f.asset.name if f.asset is not None else None))
    if any_finding:
        # The findings engine evaluates the whole catalog on each run: once any run has left a
        # finding, every catalogued check counts as evaluated.
        from radguard.frameworks.sources import check_sources

        obs.evaluated_checks.update(s.id for s in check_sources())
    latest = latest_checklist(scope)
    if latest is not None:
        assessment, answers = latest
        obs.checklist_label = f"checklist assessment v{assessment.version} of {assessment.assessed_on.isoformat()}"
        obs.answers = {a.question_id: Answer(a.value, a.not_applicable) for a in answers}
    return obs


def latest_checklist(scope: Scope) -> tuple[ChecklistAssessment, list[ChecklistAnswer]] | None:
    """The current checklist assessment for the scope (``checklists.assessments.current_assessment``).

    For a reader limited to one site, that site's (its own, else the organisation-wide one);
    limited to several, the organisation-wide one. Never another site's own assessment.
    """
    if not scope.has_table("checklist_assessment"):
        return None
    site = scope.site
    if site is None and scope.visible is not None and len(scope.visible) == 1:
        site = next(iter(scope.visible))
    current = current_assessment(scope.session, site=site)
    if current is None:
        return None
    if scope.visible is not None and current.site_code and current.site_code not in scope.visible:
        return None  # no organisation-wide assessment, only another site's own
    return current, list(current.answers)
