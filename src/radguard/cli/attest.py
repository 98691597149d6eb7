"""``radguard attest record|list``: human answers about assets and sites."""

from __future__ import annotations

import typer
from rich.table import Table

from radguard.checks.attestations import KNOWN_SUBJECTS, attestation_record, list_attestations, record_attestation
from radguard.cli.common import console, db, print_json
from radguard.cli.findings import parse_day_or_time
from radguard.db.models.inventory import Asset, Site

attest_app = typer.Typer(help="Attestations: a person's answer, with proof and expiry, used by checks.",
                         no_args_is_help=True)


@attest_app.command("record")
def record_cmd(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="What is attested, e.g. encrypted_at_rest, baa_signed "
                                            "(see `radguard attest subjects`)."),
    value: str = typer.Argument(..., help="yes, no, or a value."),
    asset: str | None = typer.Option(None, "--asset", help="Asset ID, SITE/NAME or unique name."),
    site: str | None = typer.Option(None, "--site", help="Site code, for an answer that covers the whole site."),
    by: str = typer.Option(..., "--by", help="Who answers."),
    at: str | None = typer.Option(None, "--at", help="When it was established (default: now)."),
    expires: str | None = typer.Option(None, "--expires", help="Valid through this date (YYYY-MM-DD)."),
    evidence: str | None = typer.Option(None, "--evidence", help="Link to the proof (document, ticket, screenshot)."),
    notes: str | None = typer.Option(None, "--notes", help="Free text."),
    json_out: bool = typer.Option(False, "--json", help="Print the attestation as JSON."),
) -> None:
    """Record an answer for an asset or a site."""
    with db(ctx).transaction() as session:
        row = record_attestation(
            session, subject=subject, value=value, attested_by=by, asset_ref=asset, site_code=site,
            attested_at=parse_day_or_time(at, "--at", end_of_day=False) if at else None,
            expires_at=parse_day_or_time(expires, "--expires", end_of_day=True) if expires else None,
            evidence_link=evidence, notes=notes,
        )
        asset_name = session.get(Asset, row.asset_id).name if row.asset_id else None  # type: ignore[union-attr]
        site_code = session.get(Site, row.site_id).code if row.site_id else None  # type: ignore[union-attr]
        record = attestation_record(row, asset_name, site_code)
    if json_out:
        print_json(record)
        return
    console.print(f"recorded attestation {record['id']}: {subject} = {record['value']} for "
                  f"{asset_name or site_code} by {by}", highlight=False)


@attest_app.command("list")
def list_cmd(
    ctx: typer.Context,
    asset: str | None = typer.Option(None, "--asset", help="Only this asset."),
    site: str | None = typer.Option(None, "--site", help="Only site-wide answers of this site."),
    subject: str | None = typer.Option(None, "--subject", help="Only this subject."),
    include_expired: bool = typer.Option(False, "--all", help="Include expired attestations."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Attestations, newest first (unexpired only unless --all)."""
    with db(ctx).read() as session:
        rows = list_attestations(session, asset_ref=asset, site_code=site, subject=subject,
                                 include_expired=include_expired)
        assets = {a.id: a for a in session.query(Asset).filter(Asset.id.in_({r.asset_id for r in rows if r.asset_id}))}
        sites = {s.id: s.code for s in session.query(Site)}
        records = [attestation_record(r, f"{sites[assets[r.asset_id].site_id]}/{assets[r.asset_id].name}"
                                      if r.asset_id else None, sites.get(r.site_id) if r.site_id else None)
                   for r in rows]
        dates = {r.id: (r.attested_at.date().isoformat(), r.expires_at.date().isoformat() if r.expires_at else "")
                 for r in rows}
    if json_out:
        print_json(records)
        return
    table = Table("ID", "For", "Subject", "Value", "By", "At", "Expires", "Evidence")
    for r in records:
        table.add_row(str(r["id"]), str(r["asset"] or f"site {r['site']}"), str(r["subject"]), str(r["value"]),
                      str(r["attested_by"]), *dates[r["id"]],
                      str(r["evidence_link"] or ""))
    console.print(table)
    console.print(f"{len(records)} attestations")


@attest_app.command("subjects")
def subjects_cmd() -> None:
    """The subjects built-in checks read."""
    for name, meaning in KNOWN_SUBJECTS.items():
        console.print(f"[bold]{name}[/]: {meaning}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(attest_app, name="attest")
