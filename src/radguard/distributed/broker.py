"""The Celery application both ends use: Redis broker with TLS and a password, JSON only.

Tasks are acknowledged late (after they finish) and re-queued when a worker dies, so a job
survives a killed sensor or a broker restart; the ingest side makes redelivery harmless.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

CENTRAL_QUEUE = "radguard.central"
DISCOVER_TASK = "radguard.sensor.discover"
INGEST_TASK = "radguard.central.ingest"


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing task is tried again: up to ``max_retries`` more times, waiting 1, 2, 4 … s
    between tries but never more than ``backoff_max`` s. Both ends read it from their command's
    ``--max-retries`` / ``--retry-backoff-max`` (defaults: 8 retries, 30 s: a database or disk
    away for about three minutes is ridden out; a fault that lasts longer ends the job as failed).

    :param max_retries: retries after the first try (0 = the first failure is final).
    :param backoff_max: the longest wait between two tries, in seconds (at least 1).
    """

    max_retries: int = 8
    backoff_max: int = 30

    def __post_init__(self) -> None:
        from radguard.errors import InputError

        if not 0 <= self.max_retries <= 100:
            raise InputError("--max-retries", None, None, f"{self.max_retries}: use 0 to 100")
        if not 1 <= self.backoff_max <= 86400:
            raise InputError("--retry-backoff-max", None, None, f"{self.backoff_max}: use 1 to 86400 seconds")

    def countdown(self, retries: int) -> int:
        """Seconds to wait before try ``retries + 2`` (after ``retries`` retries already)."""
        return int(min(self.backoff_max, 2 ** min(retries, 30)))

    def task_options(self) -> dict[str, Any]:
        """Celery task options for ``autoretry_for`` with this policy."""
        return {"max_retries": self.max_retries, "retry_backoff": 1, "retry_backoff_max": self.backoff_max,
                "retry_jitter": False}


def site_queue(site: str) -> str:
    """The Redis queue a site's sensors consume."""
    return f"radguard.site.{site}"


# kombu's Redis transport keeps a queue as one list per priority step: the plain name for
# priority 0 and NAME + "\x06\x16" + step for the others (kombu.transport.redis.Channel._q_for_pri)
_PRIORITY_STEPS = (0, 3, 6, 9)
_PRIORITY_SEP = "\x06\x16"


class BrokerUnreachable(Exception):
    """The broker did not answer; the message names the broker (without its password) and the cause."""


def queue_depths(broker_url: str, ca_file: Path | None, sites: list[str],
                 timeout: float = 2.0) -> dict[str, int]:
    """How many jobs wait in each site's queue on the broker (LLEN of the queue's Redis lists).

    A job a sensor has taken but not yet acknowledged is not counted: it has left the list.

    :param broker_url: ``rediss://:PASSWORD@host:port/0``, as the central side uses.
    :param ca_file: the CA certificate of the broker's TLS.
    :param sites: site codes whose queues are read.
    :param timeout: seconds to wait for the broker before calling it unreachable.
    :raises BrokerUnreachable: the broker cannot be reached or refuses the password.
    """
    import redis

    options: dict[str, object] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if broker_url.startswith("rediss://"):
        options["ssl_cert_reqs"] = "required"
        if ca_file is not None:
            options["ssl_ca_certs"] = str(ca_file)
    client = redis.Redis.from_url(broker_url, **options)
    try:
        with client.pipeline(transaction=False) as pipe:
            for site in sites:
                for step in _PRIORITY_STEPS:
                    pipe.llen(site_queue(site) + (f"{_PRIORITY_SEP}{step}" if step else ""))
            counts = pipe.execute()
    except redis.RedisError as exc:
        where = broker_url.rsplit("@", 1)[-1]
        raise BrokerUnreachable(f"broker {where} unreachable: {type(exc).__name__}: {exc}") from None
    finally:
        client.close()
    n = len(_PRIORITY_STEPS)
    return {site: int(sum(counts[i * n:(i + 1) * n])) for i, site in enumerate(sites)}


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
