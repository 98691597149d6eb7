"""The sensors page reads each site's queue depth from the real (TLS, password) Redis broker."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from radguard.db.models.inventory import Site
from radguard.db.session import Database
from radguard.distributed.broker import BrokerUnreachable, make_app, queue_depths
from radguard.distributed.central import create_job, enroll, send_job
from tests.support.redis import RedisBroker


def _depth_cells(html: str) -> dict[str, str]:
    """Sensor ID -> the 'Queue (broker)' cell (the sixth column)."""
    rows = re.findall(r"<tr><td>(sensor-[^<]+)</td>(.*?)</tr>", html, re.S)
    return {sid: re.findall(r"<td>(.*?)</td>", rest, re.S)[4].strip() for sid, rest in rows}


def test_queue_depth_per_sensor_and_broker_down(web_db: Database, broker: RedisBroker,
                                                client_for: Callable[[str], TestClient],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with web_db.transaction() as s:
        s.add_all([Site(code="NORTH", name="North"), Site(code="SOUTH", name="South")])
    north, south = enroll(web_db, "NORTH"), enroll(web_db, "SOUTH")
    viewer = client_for("viewer")
    assert "no broker configured" in viewer.get("/sensors").text
    monkeypatch.setenv("RADGUARD_BROKER_URL", broker.url())
    monkeypatch.setenv("RADGUARD_BROKER_CA", str(broker.ca))
    app = make_app(broker.url(), broker.ca)
    # no sensor process is running: the jobs stay on NORTH's queue
    for _ in range(3):
        send_job(app, create_job(web_db, "NORTH", ["127.0.0.1"], [104], 1))
    assert queue_depths(broker.url(), broker.ca, ["NORTH", "SOUTH"]) == {"NORTH": 3, "SOUTH": 0}
    page = viewer.get("/sensors").text
    cells = _depth_cells(page)
    assert cells[north.sensor_id] == "3" and cells[south.sensor_id] == "0", cells
    assert "unreachable" not in page
    broker.kill()
    with pytest.raises(BrokerUnreachable, match=f"127.0.0.1:{broker.port}/0 unreachable") as err:
        queue_depths(broker.url(), broker.ca, ["NORTH"], timeout=1)
    assert broker.password not in str(err.value)
    page = viewer.get("/sensors").text
    cells = _depth_cells(page)
    assert cells[north.sensor_id] == "broker unreachable" == cells[south.sensor_id]
    assert "Queue depth not shown: broker" in page and broker.password not in page
