"""A job still on the broker when Redis is killed (SIGKILL) is delivered after Redis restarts."""

from __future__ import annotations

from radguard.db.session import Database
from radguard.distributed.broker import DISCOVER_TASK, make_app, queue_depths, site_queue
from radguard.distributed.central import create_job, send_job
from tests.support.redis import RedisBroker


def test_queued_job_survives_a_killed_broker(sqlite_db: Database, broker: RedisBroker) -> None:
    app = make_app(broker.url(), broker.ca)
    job = create_job(sqlite_db, "NORTH", ["127.0.0.1"], [104], 1)
    send_job(app, job)
    assert queue_depths(broker.url(), broker.ca, ["NORTH"]) == {"NORTH": 1}
    broker.kill()  # SIGKILL: no shutdown save; only the append-only file keeps the job
    assert not broker.ping()
    broker.start()
    assert queue_depths(broker.url(), broker.ca, ["NORTH"]) == {"NORTH": 1}
    # and it is delivered: a consumer on the site's queue receives the same job, once
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(site_queue("NORTH"))
        message = queue.get(timeout=10)
        assert message.headers["task"] == DISCOVER_TASK
        args = message.decode()[0]
        assert args == [job]
        message.ack()
        queue.close()
    assert queue_depths(broker.url(), broker.ca, ["NORTH"]) == {"NORTH": 0}
