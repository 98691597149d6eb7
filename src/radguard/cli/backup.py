"""``radguard backup manifest|verify`` and ``radguard backup set add|import|list``."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from radguard import wording
from radguard.backup.reconcile import STATUSES
from radguard.backup.run import VerifyReport, build_manifest, state_dir, verify_backup
from radguard.backup.scan import ScanOptions
from radguard.backup.timing import check_hours
from radguard.cli.common import _default, console, db, dumps, err_console, print_json, terminate_as_interrupt
from radguard.errors import InputError

backup_app = typer.Typer(help="Backup validation for imaging archives.", no_args_is_help=True)
set_app = typer.Typer(help="Backup sets: where the copies of each archive live.", no_args_is_help=True)
backup_app.add_typer(set_app, name="set")

WORKERS_HELP = "Worker processes for hashing and parsing (default: one per CPU core)."


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so workers stop and the side file is closed cleanly."""
    with terminate_as_interrupt():
        try:
            yield
        except KeyboardInterrupt:
            err_console.print("stopped; run the same command again to resume where it left off")
            raise


@contextmanager
def _progress(label: str, total: int | None, quiet: bool) -> Iterator[Any]:
    if quiet or not err_console.is_terminal:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, _bytes: bar.update(task, completed=done)


def _options(workers: int | None, deep: bool, paths: bool) -> ScanOptions:
    if workers is not None and workers < 1:
        raise InputError("--workers", None, None, "must be at least 1")
    return ScanOptions(workers=workers or max(1, os.cpu_count() or 1), deep=deep, keep_paths=paths)


@backup_app.command("manifest")
def manifest_cmd(
    source: Path = typer.Argument(..., help="Top folder of the DICOM store (any layout; DICOMDIR tolerated)."),
    output: Path = typer.Option(..., "-o", "--output", help="Manifest file to write (JSON Lines)."),
    workers: int | None = typer.Option(None, "--workers", help=WORKERS_HELP),
    deep: bool = typer.Option(False, "--deep", help="Also read every instance fully with pydicom (slower)."),
    restart: bool = typer.Option(False, "--restart", help="Ignore an interrupted earlier run and start over."),
    json_out: bool = typer.Option(False, "--json", help="Print the totals as JSON."),
) -> None:
    """Write the manifest of a DICOM store: UIDs, SOP class, size and BLAKE3 hash of every instance."""
    options = _options(workers, deep, False)
    with _terminate_as_interrupt(), _progress("hashing", None, json_out) as progress:
        result = build_manifest(source, output, options, restart=restart, progress=progress)
    totals = result.totals
    if json_out:
        print_json({"manifest": str(output), **totals.as_dict(), "resumed_from_files": result.resumed_from,
                    "throughput": result.throughput})
        return
    _print_attack_signs(totals.ransom_notes, totals.problems.get("ransom_note", 0),
                        totals.problems.get("polyglot", 0), "source")
    if result.resumed_from:
        console.print(f"resumed: {result.resumed_from} files were already done")
    problems = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in totals.problems.items()) or "none"
    console.print(f"wrote {output}: {totals.instances} instances in {totals.studies} studies, "
                  f"{totals.bytes / 1e6:.1f} MB; problems in the source: {problems}", highlight=False)
    _print_rate(result.throughput)
    if totals.unlisted_directories:
        console.print(f"[yellow]{totals.unlisted_directories} directories could not be read and are not in the "
                      "manifest[/]")


def _print_rate(rate: dict[str, Any]) -> None:
    if rate.get("mb_per_s"):
        console.print(f"checked {rate['files']} files ({rate['bytes'] / 1e6:.1f} MB) in {rate['seconds']:.1f} s: "
                      f"{rate['mb_per_s']} MB/s, {rate['files_per_s']} files/s", highlight=False)


@backup_app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    backup: Path = typer.Argument(..., help="Top folder of the backup copy to check."),
    manifest: Path | None = typer.Option(None, "--manifest", help="Manifest of the source (from `backup manifest`)."),
    against: Path | None = typer.Option(None, "--against",
                                        help="Compare with this source tree directly (writes --manifest if given)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON (counts, and items not ok)."),
    workers: int | None = typer.Option(None, "--workers", help=WORKERS_HELP),
    rto: float | None = typer.Option(None, "--rto", help="Recovery time objective in hours (default: from the "
                                     "imaging services that depend on the set's archive)."),
    rpo: float | None = typer.Option(None, "--rpo", help="Recovery point objective in hours."),
    set_name: str | None = typer.Option(None, "--set", help="Record the run against this backup set."),
    paths: bool = typer.Option(False, "--paths", help="Show file paths in the report (they may name patients)."),
    deep: bool = typer.Option(False, "--deep", help="Also read every instance fully with pydicom (slower)."),
    restart: bool = typer.Option(False, "--restart", help="Ignore an interrupted earlier run and start over."),
) -> None:
    """Check a backup instance by instance and project the restore time. Exit status 1 if anything is not ok."""
    options = _options(workers, deep, paths)
    rto, rpo = check_hours("--rto", rto), check_hours("--rpo", rpo)
    if manifest is None and against is None:
        raise InputError("backup verify", None, "--manifest", "give --manifest MANIFEST, or --against SOURCE")
    if against is not None:
        tag = hashlib.sha256(str(against.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        manifest = manifest or state_dir() / f"against-{tag}.radguard-manifest.jsonl"
        with _terminate_as_interrupt(), _progress("hashing source", None, json_out) as progress:
            build_manifest(against, manifest, options, restart=restart, progress=progress)
    assert manifest is not None
    database = db(ctx) if set_name else None
    rto_source = "--rto" if rto is not None else None
    if database is not None and set_name:
        # Backup sets live in the database: SQLAlchemy and the models load only for --set.
        from radguard.backup.sets import get_set, record_verification, service_targets

        with database.read() as session:
            row = get_set(session, set_name)
            svc_rto, svc_rpo, svc_source = service_targets(session, row)
        if rto is None and svc_rto is not None:
            rto, rto_source = svc_rto, svc_source
        if rpo is None:
            rpo = svc_rpo
    with _terminate_as_interrupt(), _progress("verifying", None, json_out) as progress:
        run = verify_backup(backup, manifest, options, rto_hours=rto, rto_source=rto_source, rpo_hours=rpo,
                            restart=restart, progress=progress)
    try:
        report = run.report
        if database is not None and set_name:
            with database.transaction() as session:
                record_verification(session, get_set(session, set_name), report)
        if json_out:
            _stream_json(report)
        else:
            _print_report(report)
    finally:
        run.close()
    if not report.all_ok:
        raise typer.Exit(1)


def _stream_json(report: VerifyReport) -> None:
    """The report as one JSON document, with items written as they are read (bounded memory)."""
    head = dumps(report.summary())
    sys.stdout.write(head[:-2] + ',\n  "items": [')
    first = True
    for item in report.items:
        sys.stdout.write(("\n    " if first else ",\n    ") + json.dumps(item, default=_default, ensure_ascii=False))
        first = False
    sys.stdout.write("\n  ]\n}\n" if not first else "]\n}\n")


def _print_attack_signs(notes: list[dict[str, Any]], note_files: int, polyglots: int, where: str) -> None:
    """Ransom notes by name, then polyglots: printed before anything else, because they mean an attack."""
    if note_files:
        names = ", ".join(escape(n["name"]) + (f" ({n['files']} copies)" if n["files"] > 1 else "") for n in notes)
        console.print(f"[bold red]RANSOM NOTE in the {where}: {names}. The copy is compromised: treat this as an "
                      "incident and do not restore from it before it is investigated.[/]", highlight=False)
    if polyglots:
        console.print(f"[bold red]{polyglots} DICOM file(s) in the {where} carry an executable in the preamble "
                      "(CVE-2019-11687): they can run as programs.[/]", highlight=False)


def _print_report(report: VerifyReport) -> None:
    _print_attack_signs(report.ransom_notes, report.counts.get("ransom_note", 0), report.counts.get("polyglot", 0),
                        "backup")
    table = Table("Status", "Count")
    for status in STATUSES:
        table.add_row(status.replace("_", " "), str(report.counts.get(status, 0)))
    console.print(table)
    console.print(f"{report.expected_instances} instances expected, {report.files_checked} files checked"
                  + (f" (resumed after {report.resumed_from})" if report.resumed_from else ""))
    _print_rate(report.throughput)
    r, verdict = report.restore, report.rto
    colour = "green" if verdict is not None and verdict.met else "bold red"
    if r.throughput_bytes_per_s:
        line = (f"read {r.bytes_read / 1e6:.1f} MB at {r.throughput_bytes_per_s / 1e6:.1f} MB/s; a full restore of "
                f"{r.archive_bytes / 1e9:.2f} GB would take at least {_hours(r.projected_hours)}")
        if verdict is not None:
            line += f", which [{colour}]{verdict.sentence()}[/] ({r.rto_source})"
        console.print(line, highlight=False)
    elif verdict is not None:
        console.print(f"a restore from this copy [{colour}]{verdict.sentence()}[/] ({r.rto_source})", highlight=False)
    p = report.rpo
    if p.backup_newest_study:
        text = f"recovery point achieved: studies up to {p.backup_newest_study}"
        if p.lag_hours is not None:
            text += f", {p.lag_hours:g} h behind the source"
        if p.rpo_hours is not None:
            text += f" ({'within' if p.rpo_met else 'beyond'} the RPO of {p.rpo_hours:g} h)"
        console.print(text, highlight=False)
    nc = report.not_checked
    if nc["directories"] or nc["files"]:
        console.print(f"[yellow]not checked: {nc['directories']} directories and {nc['files']} files could not be "
                      f"read ({'; '.join(nc['directory_reasons']) or 'permission or I/O errors'})[/]")
    for shown, item in enumerate(report.items):
        if shown == 20:
            console.print("… more in --json output")
            break
        where = item.get("path") or item.get("name") or item.get("sop") or item.get("file_key")
        line = f"  {item['status']:<11} {where}  {item.get('reason', '')}"
        # Names and paths come from the backup (an attacker's file names): no control characters.
        console.print(escape("".join(ch if ch.isprintable() else "?" for ch in line)), highlight=False)
    console.print("[green]backup verified: every instance is ok[/]" if report.all_ok
                  else "[bold red]backup has problems[/]")


def _hours(h: float | None) -> str:
    if h is None:
        return "an unknown time"
    return f"{h * 60:.1f} min" if h < 1 else wording.hours(h)


@set_app.command("add")
def set_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A unique name, e.g. pacs-nas-replica."),
    protects: str = typer.Option(..., "--protects", help="The archive it copies: asset name or SITE/NAME."),
    location: str = typer.Option(..., "--location", help="Where the copy lives (host, bucket, vault)."),
    kind: str = typer.Option(..., "--kind", help="local, offsite, cloud or tape."),
    media: str | None = typer.Option(None, "--media", help="disk, tape, object or optical (default from --kind)."),
    offsite: bool | None = typer.Option(None, "--offsite/--onsite", help="Default: yes for offsite and cloud."),
    immutable: bool = typer.Option(False, "--immutable", help="WORM or object lock: cannot be changed or deleted."),
    offline: bool = typer.Option(False, "--offline", help="Air-gapped: not reachable from the network."),
    encrypted: bool = typer.Option(False, "--encrypted", help="Encrypted at rest."),
    schedule: str | None = typer.Option(None, "--schedule", help="e.g. 'nightly 02:00'."),
    last_success: datetime | None = typer.Option(None, "--last-success", help="Last successful backup run (ISO)."),
) -> None:
    """Declare or update a backup set."""
    from radguard.backup.sets import BackupSetSpec, upsert_set

    try:
        spec = BackupSetSpec(name=name, protects=protects, location=location, kind=kind, media=media,
                             offsite=offsite, immutable=immutable, offline=offline, encrypted=encrypted,
                             schedule=schedule, last_success=last_success)
    except ValueError as exc:
        raise InputError("backup set add", None, None, str(exc).splitlines()[-2].strip() if "\n" in str(exc)
                         else str(exc)) from exc
    with db(ctx).transaction() as session:
        row, created = upsert_set(session, spec)
        linked = "linked to inventory asset" if row.asset_id else "not matched to an inventory asset"
    console.print(f"{'created' if created else 'updated'} backup set {name} ({linked})")


@set_app.command("import")
def set_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="YAML or JSON with a top-level 'backup_sets' list."),
) -> None:
    """Import backup sets; all or nothing."""
    from radguard.backup.sets import import_sets

    with db(ctx).transaction() as session:
        created, updated = import_sets(session, file)
    console.print(f"imported {file}: {created} backup sets created, {updated} updated")


@set_app.command("list")
def set_list(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List backup sets with their protections and last verification."""
    from radguard.backup.sets import list_sets, set_record

    with db(ctx).read() as session:
        records = [set_record(r) for r in list_sets(session)]
    if json_out:
        print_json(records)
        return
    table = Table("Name", "Protects", "Kind", "Media", "Offsite", "Immutable", "Offline", "Last verified", "Result")
    for r in records:
        last = r["last_verification"]
        table.add_row(r["name"], r["protects"], r["kind"], r["media"], _yn(r["offsite"]), _yn(r["immutable"]),
                      _yn(r["offline"]), r["last_verified_at"].date().isoformat() if r["last_verified_at"] else "never",
                      "" if last is None else "RANSOM NOTE" if last["ransom_notes"]
                      else "ok" if last["all_ok"] else "problems")
    console.print(table)


def _yn(v: bool) -> str:
    return "yes" if v else "no"


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
