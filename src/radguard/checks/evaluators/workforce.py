"""RG-TRAINING-OVERDUE and RG-PHISH-RISK: workforce awareness measured from imported exports.

Findings are about role groups, not people: the subject is ``role:<role>`` or
``audience:<audience>`` and the key is the site code, so a finding tells a manager which group
to follow up without naming anyone in the register.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.workforce import TrainingRecord
from radguard.response.workforce import phishing_series, training_groups

DEFAULTS: dict[str, float] = {
    "training_completion_min": 0.90,
    "phish_click_rate_max": 0.10,
    "phish_report_drop": 0.05,
}


def _param(ctx: CheckContext, name: str) -> float:
    params: dict[str, Any] = ctx.settings.get("parameters") or {}
    return float(params.get(name, DEFAULTS[name]))


@evaluator("RG-TRAINING-OVERDUE")
def training_overdue(ctx: CheckContext) -> Iterator[Observation]:
    minimum = _param(ctx, "training_completion_min")
    records = list(ctx.session.scalars(select(TrainingRecord)))
    for group in training_groups(records, ctx.now.date()):
        completion = group.completion
        if completion is None or completion >= minimum:
            continue
        yield Observation(
            subject=f"role:{group.role}", key=group.site,
            evidence={"role": group.role, "site": group.site or None, "due": group.due,
                      "completed": group.completed, "overdue": group.overdue, "completion": completion,
                      "threshold": minimum},
            exposure=min(1.0, 0.4 + (minimum - completion)),
            summary=f"{group.role}{' at ' + group.site if group.site else ''}: {completion:.0%} of due "
                    f"required training completed (threshold {minimum:.0%}), {group.overdue} overdue",
        )


@evaluator("RG-PHISH-RISK")
def phishing_risk(ctx: CheckContext) -> Iterator[Observation]:
    max_click, max_drop = _param(ctx, "phish_click_rate_max"), _param(ctx, "phish_report_drop")
    for (audience, site), results in phishing_series(ctx.session).items():
        latest = results[-1]
        if not latest.sent:
            continue
        click = latest.clicked / latest.sent
        report = latest.reported / latest.sent
        reasons = []
        if click > max_click:
            reasons.append(f"click rate {click:.0%} above {max_click:.0%}")
        previous_report = None
        if len(results) >= 2 and results[-2].sent:
            previous_report = results[-2].reported / results[-2].sent
            if previous_report - report > max_drop:
                reasons.append(f"report rate fell from {previous_report:.0%} to {report:.0%}")
        if not reasons:
            continue
        yield Observation(
            subject=f"audience:{audience}", key=site,
            evidence={"audience": audience, "site": site or None, "campaign": latest.campaign,
                      "date": latest.sent_on.isoformat(), "sent": latest.sent, "click_rate": round(click, 4),
                      "report_rate": round(report, 4),
                      "previous_report_rate": round(previous_report, 4) if previous_report is not None else None,
                      "reasons": reasons},
            exposure=min(1.0, 0.4 + click),
            summary=f"{audience}{' at ' + site if site else ''}, campaign {latest.campaign}: " + "; ".join(reasons),
        )
