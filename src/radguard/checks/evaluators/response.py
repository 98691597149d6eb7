"""Evaluators for catalog/response.yaml: drills, demonstrated recovery and the response team.

They read what people recorded (team roster, services, drills) and the inventory; nothing
here touches the network. Subjects are ``playbook:ID``, ``service:KEY``, ``drill:KEY`` (one
finding per open action, keyed ``action-N``), ``role:KEY`` / ``person:NAME`` and
``organization``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.response import Drill, ImagingService
from radguard.response.drills import demonstrated_recovery, load_drills
from radguard.response.playbooks import load_catalog
from radguard.response.services import load_services
from radguard.response.team import DEFAULT_MAX_ROLES, DEFAULT_VERIFY_DAYS, load_people, load_roles, team_gaps

DEFAULTS: dict[str, Any] = {
    "drill_interval_days": 365,
    "team_max_roles": DEFAULT_MAX_ROLES,
    "contact_verify_days": DEFAULT_VERIFY_DAYS,
}


def _param(ctx: CheckContext, name: str) -> Any:
    params: dict[str, Any] = ctx.settings.get("parameters") or {}
    return params.get(name, DEFAULTS[name])


def _drills(ctx: CheckContext) -> list[Drill]:
    return ctx.memo("response.drills", lambda: load_drills(ctx.session))


def _services(ctx: CheckContext) -> list[ImagingService]:
    return ctx.memo("response.services", lambda: load_services(ctx.session))


@evaluator("RG-DRILL-OVERDUE")
def drill_overdue(ctx: CheckContext) -> Iterator[Observation]:
    interval = int(_param(ctx, "drill_interval_days"))
    today = ctx.now.date()
    classes = {a.asset_class for a in ctx.assets()}
    last: dict[str, Drill] = {}
    for drill in _drills(ctx):
        if drill.status != "completed" or drill.scheduled_on > today:
            continue
        if drill.playbook not in last or drill.scheduled_on > last[drill.playbook].scheduled_on:
            last[drill.playbook] = drill
    for pb in load_catalog():
        if pb.applies_to and not classes.intersection(pb.applies_to):
            continue
        latest = last.get(pb.id)
        if latest is not None and latest.scheduled_on >= today - timedelta(days=interval):
            continue
        planned = sorted(d.scheduled_on for d in _drills(ctx)
                         if d.playbook == pb.id and d.status == "planned" and d.scheduled_on >= today)
        yield Observation(
            subject=f"playbook:{pb.id}",
            evidence={"playbook": pb.id, "title": pb.title, "interval_days": interval,
                      "last_drill": latest.key if latest else None,
                      "last_drill_on": latest.scheduled_on.isoformat() if latest else None,
                      "next_planned_on": planned[0].isoformat() if planned else None},
            exposure=0.7 if latest is None else 0.5,
            summary=(f"'{pb.title}' has never been drilled" if latest is None else
                     f"'{pb.title}' was last drilled on {latest.scheduled_on.isoformat()}"),
        )


@evaluator("RG-RTO-UNPROVEN")
def rto_unproven(ctx: CheckContext) -> Iterator[Observation]:
    demonstrated = demonstrated_recovery(_drills(ctx))
    for service in _services(ctx):
        demo = demonstrated.get(service.key)
        if demo is not None and demo[0] <= service.rto_hours:
            continue
        evidence: dict[str, Any] = {"service": service.key, "name": service.name, "rto_hours": service.rto_hours}
        if demo is None:
            summary = (f"{service.name}: RTO of {service.rto_hours:g} h never demonstrated "
                       "in a functional or full-scale drill")
        else:
            evidence.update(demonstrated_hours=round(demo[0], 2), drill=demo[1])
            summary = (f"{service.name}: fastest drill recovery {demo[0]:.1f} h ({demo[1]}) is slower than the "
                       f"RTO of {service.rto_hours:g} h")
        yield Observation(subject=f"service:{service.key}", evidence=evidence,
                          exposure=0.6 if demo is None else 0.8, summary=summary)


@evaluator("RG-DRILL-ACTION-OPEN")
def drill_action_open(ctx: CheckContext) -> Iterator[Observation]:
    today = ctx.now.date()
    for drill in _drills(ctx):
        for action in drill.actions:
            if action.status == "done":
                continue
            overdue = action.due is not None and action.due < today
            yield Observation(
                subject=f"drill:{drill.key}", key=f"action-{action.number}",
                evidence={"drill": drill.key, "playbook": drill.playbook, "number": action.number,
                          "action": action.title, "owner_role": action.owner_role,
                          "due": action.due.isoformat() if action.due else None, "overdue": overdue},
                exposure=0.7 if overdue else 0.4,
                summary=f"Drill {drill.key}, action {action.number}: {action.title}"
                        + (f" (overdue since {action.due.isoformat()})" if overdue and action.due else ""),
            )


@evaluator("RG-TEAM-GAP")
def team_gap(ctx: CheckContext) -> Iterator[Observation]:
    roles = load_roles(ctx.session)
    if not roles:
        yield Observation(subject="organization", key="no-team", evidence={"roles": 0}, exposure=0.8,
                          summary="No incident response team is recorded; import one with `radguard team import`")
        return
    gaps = team_gaps(roles, load_people(ctx.session), ctx.now.date(),
                     max_roles=int(_param(ctx, "team_max_roles")),
                     verify_days=int(_param(ctx, "contact_verify_days")))
    for gap in gaps:
        yield Observation(subject=gap.subject, key=gap.kind, evidence={"gap": gap.kind, **gap.detail},
                          exposure=0.6 if gap.kind in ("no-primary", "overloaded") else 0.4, summary=gap.message)
