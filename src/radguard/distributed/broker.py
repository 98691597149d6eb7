"""The Celery application both ends use: Redis broker with TLS and a password, JSON only.

Tasks are acknowledged late (after they finish) and re-queued when a worker dies, so a job
survives a killed sensor or a broker restart; the ingest side makes redelivery harmless.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from celery import Celery

CENTRAL_QUEUE = "radguard.central"
DISCOVER_TASK = "radguard.sensor.discover"
INGEST_TASK = "radguard.central.ingest"


def site_queue(site: str) -> str:
    """The Redis queue a site's sensors consume."""
    return f"radguard.site.{site}"


def transport_options(visibility_timeout: int) -> dict[str, object]:
    """Redis transport settings: a job unacknowledged for ``visibility_timeout`` seconds (its
    worker died) is handed out again; the sweep for such jobs runs every ~10 s, not every 100 s."""
    return {"visibility_timeout": visibility_timeout, "unacked_restore_throttle": 1}


def make_app(broker_url: str, ca_file: Path | None = None, name: str = "radguard") -> Celery:
    """A Celery app on ``broker_url`` (``rediss://:PASSWORD@host:port/0``).

    ``ca_file`` is the CA that signed the broker's certificate; with ``rediss://`` the
    certificate is always verified (CERT_REQUIRED), never skipped.
    """
    app = Celery(name, broker=broker_url)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_ignore_result=True, broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None, worker_hijack_root_logger=False,
        broker_transport_options=transport_options(3600),
        task_default_queue=CENTRAL_QUEUE,
    )
    if broker_url.startswith("rediss://"):
        tls: dict[str, object] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        if ca_file is not None:
            tls["ssl_ca_certs"] = str(ca_file)
        app.conf.broker_use_ssl = tls
    return app
