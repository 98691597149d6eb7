"""The offline binder: everything the team needs when every system is down, in one file.

The HTML is a single self-contained document — styles inline, no scripts, no fonts, images
or links that leave the file — so it opens from a USB stick on any computer and prints as
is. The PDF is the same document laid out by WeasyPrint, with a URL fetcher that refuses
every request, so building it never touches the network either.

It is filled with the organization's own data: who holds each role and how to reach them,
each service's downtime procedures and how long its modalities can keep acquiring, and
every playbook step with the name and number of the person responsible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard import wording
from radguard.db.models.inventory import Site
from radguard.db.models.response import ResponsePerson
from radguard.errors import RadguardError
from radguard.links import http_url
from radguard.outfiles import write_file
from radguard.readiness.continuity import continuity
from radguard.response.drills import demonstrated_recovery, drill_report, load_drills
from radguard.response.playbooks import MILESTONE_LABELS, MILESTONES, Playbook, load_catalog
from radguard.response.services import PROCEDURE_LABELS, load_services
from radguard.response.team import holders, load_people, load_roles, person_record, team_gaps

TEMPLATES = Path(__file__).resolve().parent
DEFAULT_OUTAGE_HOURS = 72.0


class BinderError(RadguardError):
    """The binder could not be written."""


@dataclass(frozen=True)
class BinderOptions:
    generated_at: datetime
    outage_hours: float = DEFAULT_OUTAGE_HOURS
    playbooks: tuple[str, ...] = ()  # empty: all
    title: str | None = None


_CONTACT_FIELDS = ("job_title", "phone", "mobile", "email", "out_of_band", "contacts_verified_on")


def _contact(person: ResponsePerson) -> dict[str, Any]:
    return dict.fromkeys(_CONTACT_FIELDS) | person_record(person)


def binder_context(session: Session, options: BinderOptions) -> dict[str, Any]:
    """Everything the template shows, as plain data (also handy for tests)."""
    roles = load_roles(session)
    people = load_people(session)
    role_rows = []
    by_role: dict[str, dict[str, Any]] = {}
    for role in roles:
        row = {
            "key": role.key, "title": role.title, "responsibilities": role.responsibilities,
            "primary": [_contact(p) for p in holders(role, "primary")],
            "alternates": [_contact(p) for p in holders(role, "alternate")],
        }
        role_rows.append(row)
        by_role[role.key] = row
    drills = load_drills(session)
    demonstrated = demonstrated_recovery(drills)
    services = load_services(session)
    sites = {s.id: s for s in session.scalars(select(Site))}
    outage = continuity(services, options.outage_hours, demonstrated)
    service_rows = []
    for service, cont in zip(services, outage, strict=True):
        service_rows.append({
            "key": service.key, "name": service.name, "description": service.description,
            "site": sites[service.site_id].name if service.site_id in sites else None,
            "rto_hours": service.rto_hours, "rpo_hours": service.rpo_hours,
            "dependencies": [{"asset": f"{d.asset.site.code}/{d.asset.name}", "function": d.function}
                             for d in service.dependencies],
            "procedures": [{"kind": PROCEDURE_LABELS[p.kind], "title": p.title,
                            "owner": by_role.get(p.owner_role or ""), "owner_role": p.owner_role, "steps": p.steps}
                           for p in service.procedures],
            "continuity": cont.as_dict(),
        })
    catalog = load_catalog()
    wanted = [pb for pb in catalog if not options.playbooks or pb.id in options.playbooks]
    unknown = set(options.playbooks) - {pb.id for pb in catalog}
    if unknown:
        raise BinderError(f"unknown playbook(s) {', '.join(sorted(unknown))}; see `radguard playbook list`")
    last_drill = {d.playbook: d for d in drills if d.status == "completed"}
    site_names = [s.name for s in sorted(sites.values(), key=lambda s: s.code)]
    return {
        "title": options.title or (f"{site_names[0]}: imaging downtime binder" if site_names
                                   else "Imaging downtime binder"),
        "sites": site_names,
        "generated_at": options.generated_at,
        "outage_hours": options.outage_hours,
        "roles": role_rows,
        "by_role": by_role,
        "people": [_contact(p) | {"roles": sorted({a.role.title for a in p.assignments})} for p in people],
        "gaps": [g.message for g in team_gaps(roles, people, options.generated_at.date())],
        "services": service_rows,
        "playbooks": [_playbook_row(pb, last_drill.get(pb.id)) for pb in wanted],
        "milestones": [(m, MILESTONE_LABELS[m]) for m in MILESTONES],
        "drills": [drill_report(d) for d in drills if d.status == "completed"][-5:],
    }


def _playbook_row(pb: Playbook, last: Any) -> dict[str, Any]:
    return {"pb": pb, "last_drill": last.scheduled_on if last is not None else None,
            "targets": [(MILESTONE_LABELS[m], pb.targets[m]) for m in MILESTONES if m in pb.targets]}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["hours"] = _hours
    env.filters["http_url"] = http_url
    env.filters["minutes"] = _minutes
    return env


def _hours(value: float | None) -> str:
    return wording.hours(value, unknown="—")


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g} min" if value < 120 else f"{value / 60:g} h"


def render_html(context: dict[str, Any]) -> str:
    css = (TEMPLATES / "binder.css").read_text(encoding="utf-8")
    return _environment().get_template("binder.html.j2").render(css=css, **context)


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise BinderError(f"the binder refers to {url!r}; it must be self-contained")


def write_pdf(html: str, target: Path) -> None:
    """Lay out the binder with WeasyPrint; any attempt to fetch a URL is an error.

    WeasyPrint renders to bytes and :func:`radguard.outfiles.write_file` writes them, so a full
    disk leaves no half-written binder.
    """
    from weasyprint import HTML

    pdf = HTML(string=html, url_fetcher=_refuse).write_pdf()
    if pdf is None:  # pragma: no cover - write_pdf returns bytes when no target is given
        raise BinderError("WeasyPrint produced no PDF")
    write_file(target, pdf)


def export_binder(session: Session, options: BinderOptions, fmt: str, target: Path) -> dict[str, Any]:
    context = binder_context(session, options)
    html = render_html(context)
    if fmt == "html":
        write_file(target, html)
    elif fmt == "pdf":
        write_pdf(html, target)
    else:
        raise BinderError(f"unknown format {fmt!r}; use html or pdf")
    return {"file": str(target), "format": fmt, "roles": len(context["roles"]),
            "services": len(context["services"]), "playbooks": len(context["playbooks"]),
            "bytes": target.stat().st_size}
