"""``radguard sensor``: enrol, revoke and run sensors; send jobs; the central ingest worker.

``sensor run`` never opens a database: a sensor holds only its credentials file, its local
scope file and the broker's address (with the broker password in RADGUARD_BROKER_URL).
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.discovery.targets import DEFAULT_PORTS, parse_ports
from radguard.errors import InputError
from radguard.validate import site_code

sensor_app_cli = typer.Typer(help="Multi-site sensors: enrol, revoke, run; send jobs; the central ingest worker.",
                             no_args_is_help=True)

_BROKER_HELP = "Broker URL, e.g. rediss://:PASSWORD@broker.example.org:6380/0 (or env RADGUARD_BROKER_URL)."
_DEFAULT_PORTS = ",".join(str(p) for p in DEFAULT_PORTS)
_RETRIES_HELP = "Retries of a failing job before it is recorded as failed (0-100)."
_BACKOFF_HELP = "Longest wait between two tries, in seconds (waits double from 1 s up to this)."


@sensor_app_cli.command("enroll")
def enroll_cmd(
    ctx: typer.Context,
    site: str = typer.Option(..., "--site", help="The site code the sensor serves."),
    out: Path = typer.Option(..., "--out", help="Write the sensor's credentials here (mode 0600); copy it "
                             "to the sensor and delete it here."),
) -> None:
    """Issue a new sensor identity for SITE; central keeps only its public key."""
    from radguard.distributed.central import enroll

    creds = enroll(db(ctx), site_code(site))
    creds.save(out)
    console.print(f"enrolled {creds.sensor_id} for site {creds.site}; credentials written to {out}")


@sensor_app_cli.command("revoke")
def revoke_cmd(ctx: typer.Context, sensor_id: str = typer.Argument(..., help="The sensor ID.")) -> None:
    """Revoke a sensor: its later results are refused."""
    from radguard.distributed.central import revoke

    revoke(db(ctx), sensor_id)
    console.print(f"revoked {sensor_id}")


@sensor_app_cli.command("list")
def list_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Enrolled sensors: site, last seen, version, clock skew, last job."""
    from radguard.distributed.central import list_sensors

    rows = list_sensors(db(ctx))
    if json_out:
        print_json(rows)
        return
    table = Table("sensor", "site", "last seen", "version", "clock skew (s)", "last job", "revoked")
    for r in rows:
        table.add_row(r["id"], r["site"], str(r["last_seen"] or "never"), r["version"] or "",
                      "" if r["clock_skew"] is None else f"{r['clock_skew']:+.1f}",
                      f"{r['last_job'] or ''} {r['last_status'] or ''}".strip(), str(r["revoked_at"] or ""))
    console.print(table)


@sensor_app_cli.command("jobs")
def jobs_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The newest jobs and how each ended (ingested, refused, failed with its reason)."""
    from radguard.distributed.central import list_jobs
    from radguard.wording import job_outcome

    rows = list_jobs(db(ctx))
    if json_out:
        print_json(rows)
        return
    table = Table("job", "site", "status", "sensor", "created", "reason")
    for r in rows:
        table.add_row(r["id"], r["site"], job_outcome(r["status"], r["attempts"]), r["sensor_id"] or "",
                      str(r["created"]), r["reason"] or "")
    console.print(table)


@sensor_app_cli.command("dispatch")
def dispatch_cmd(
    ctx: typer.Context,
    site: str = typer.Option(..., "--site", help="The site whose sensors run the job."),
    targets: list[str] = typer.Option(..., "--target", help="Host, CIDR or host:port (repeatable)."),
    ports: str = typer.Option(_DEFAULT_PORTS, "--ports", help="Ports to probe."),
    level: int = typer.Option(2, "--level", help="Safety level 1-3 (the sensor's scope may refuse it)."),
    rate: float = typer.Option(20.0, "--rate", help="Connections per second."),
    broker: str = typer.Option(..., "--broker", envvar="RADGUARD_BROKER_URL", help=_BROKER_HELP),
    broker_ca: Path | None = typer.Option(None, "--broker-ca", help="CA certificate of the broker's TLS."),
    json_out: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Record a discovery job and put it on SITE's queue."""
    from radguard.distributed.broker import make_app
    from radguard.distributed.central import create_job, send_job

    job = create_job(db(ctx), site_code(site), targets, list(parse_ports(ports)), level, rate)
    send_job(make_app(broker, broker_ca), job)
    if json_out:
        print_json(job)
    else:
        console.print(f"queued {job['job_id']} for site {job['site']}")


@sensor_app_cli.command("run")
def run_cmd(
    credentials: Path = typer.Option(..., "--credentials", help="The file `radguard sensor enroll` wrote."),
    scope: Path = typer.Option(..., "--scope", help="The LOCAL scope file: the final authority on what this "
                               "sensor may contact, how deep, when."),
    broker: str = typer.Option(..., "--broker", envvar="RADGUARD_BROKER_URL", help=_BROKER_HELP),
    broker_ca: Path | None = typer.Option(None, "--broker-ca", help="CA certificate of the broker's TLS."),
    spool: Path = typer.Option(Path("spool"), "--spool", help="Directory for results waiting for the broker."),
    max_rate: float = typer.Option(50.0, "--max-rate", help="Rate cap (connections/s); jobs asking more are "
                                   "refused."),
    timeout: float = typer.Option(2.0, "--timeout", help="Per-connection timeout in seconds."),
    visibility_timeout: int = typer.Option(3600, "--visibility-timeout",
                                           help="Seconds before an unacknowledged job (a killed sensor's) "
                                           "is handed out again."),
    max_retries: int = typer.Option(8, "--max-retries", help=_RETRIES_HELP),
    backoff_max: int = typer.Option(30, "--retry-backoff-max", help=_BACKOFF_HELP),
) -> None:
    """Run a sensor: consume its site's jobs, check each against the local scope, send signed results."""
    from radguard.discovery.scope import load_scope
    from radguard.distributed.broker import RetryPolicy, site_queue, transport_options
    from radguard.distributed.sensor import SensorRuntime, flush_loop, sensor_app
    from radguard.distributed.signing import load_credentials
    from radguard.distributed.spool import Spool

    creds = load_credentials(credentials)
    runtime = SensorRuntime(creds, load_scope(scope), Spool(spool), max_rate=max_rate, timeout=timeout)
    if max_rate <= 0:
        raise InputError("--max-rate", None, None, "must be above 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = sensor_app(broker, runtime, broker_ca, RetryPolicy(max_retries, backoff_max))
    app.conf.broker_transport_options = transport_options(visibility_timeout)
    threading.Thread(target=flush_loop, args=(app, runtime), daemon=True).start()
    worker = app.Worker(queues=[site_queue(creds.site)], pool="solo", concurrency=1,
                        hostname=f"{creds.sensor_id}@{socket.gethostname()}", loglevel="INFO", without_mingle=True,
                        without_gossip=True)
    worker.start()
    raise typer.Exit(worker.exitcode or 0)


@sensor_app_cli.command("central-worker")
def central_worker_cmd(
    ctx: typer.Context,
    broker: str = typer.Option(..., "--broker", envvar="RADGUARD_BROKER_URL", help=_BROKER_HELP),
    broker_ca: Path | None = typer.Option(None, "--broker-ca", help="CA certificate of the broker's TLS."),
    visibility_timeout: int = typer.Option(3600, "--visibility-timeout",
                                           help="Seconds before an unacknowledged result is handed out again."),
    no_assess: bool = typer.Option(False, "--no-assess", help="Do not run the assessment after each ingest."),
    max_retries: int = typer.Option(8, "--max-retries", help=_RETRIES_HELP),
    backoff_max: int = typer.Option(30, "--retry-backoff-max", help=_BACKOFF_HELP),
) -> None:
    """Run the central ingest worker: verify sensors' results and store each once."""
    from radguard.distributed.broker import CENTRAL_QUEUE, RetryPolicy, transport_options
    from radguard.distributed.central import central_app

    policy = RetryPolicy(max_retries, backoff_max)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = central_app(broker, db(ctx), broker_ca, assess_after=not no_assess, retry=policy)
    app.conf.broker_transport_options = transport_options(visibility_timeout)
    worker = app.Worker(queues=[CENTRAL_QUEUE], pool="solo", concurrency=1, hostname=f"central@{socket.gethostname()}",
                        loglevel="INFO", without_mingle=True, without_gossip=True)
    worker.start()
    raise typer.Exit(worker.exitcode or 0)


def register(app: typer.Typer) -> None:
    app.add_typer(sensor_app_cli, name="sensor")
