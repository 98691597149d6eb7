"""The sensors and jobs pages, and revoking a sensor from the web (admin only, audited)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from radguard.db.models.inventory import Site
from radguard.db.models.sensors import Sensor
from radguard.db.session import Database
from radguard.distributed.central import create_job, enroll
from radguard.web.audit import recent
from tests.web.conftest import csrf_of


def test_sensor_pages_and_revoke(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        s.add(Site(code="NORTH", name="North hospital"))
    creds = enroll(web_db, "NORTH")
    job = create_job(web_db, "NORTH", ["127.0.0.1"], [104], level=1)
    viewer = client_for("viewer")
    page = viewer.get("/sensors")
    assert page.status_code == 200 and creds.sensor_id in page.text and "never" in page.text
    assert ">1<" in page.text  # one job waiting for the site
    assert "revoke" not in page.text  # no revoke form for a viewer
    jobs = viewer.get("/sensors/jobs")
    assert job["job_id"] in jobs.text and "queued" in jobs.text
    refused = viewer.post(f"/sensors/{creds.sensor_id}/revoke", data={"csrf_token": csrf_of(viewer)},
                          follow_redirects=False)
    assert refused.status_code == 403
    admin = client_for("admin")
    assert admin.post(f"/sensors/{creds.sensor_id}/revoke", data={}, follow_redirects=False).status_code == 403
    done = admin.post(f"/sensors/{creds.sensor_id}/revoke", data={"csrf_token": csrf_of(admin)},
                      follow_redirects=False)
    assert done.status_code == 303
    with web_db.read() as s:
        sensor = s.get(Sensor, creds.sensor_id)
        assert sensor is not None and sensor.revoked_at is not None
        assert any(e.action == "sensor.revoke" for e in recent(s, limit=10))


def test_sensor_page_shows_what_the_last_result_said(web_db: Database, client_for: Callable[[str], TestClient],
                                                     tmp_path: Path) -> None:
    """Last seen, version, site, jobs waiting, last job result and clock skew come from real results."""
    import re
    import time

    import radguard
    from radguard.discovery.scope import load_scope
    from radguard.distributed.central import ingest
    from radguard.distributed.sensor import SensorRuntime, fresh, run_job
    from radguard.distributed.spool import Spool
    from tests.distributed.conftest import write_scope

    with web_db.transaction() as s:
        s.add(Site(code="NORTH", name="North hospital"))
    creds = enroll(web_db, "NORTH")
    runtime = SensorRuntime(creds, load_scope(write_scope(tmp_path / "scope.yaml", ["127.0.0.1/32"], max_level=1)),
                            Spool(tmp_path / "spool"))
    first = create_job(web_db, "NORTH", ["127.0.0.1"], [104], level=2)  # above max_level: refused, nothing sent
    create_job(web_db, "NORTH", ["127.0.0.1"], [104], level=1)  # still waiting
    # a sensor whose clock is ten minutes slow
    slow = creds.sign({**run_job(runtime, first)["body"], "sent_at": time.time() - 600})
    assert ingest(web_db, slow)["status"] == "refused"
    viewer = client_for("viewer")
    row = re.search(rf"<tr><td>{creds.sensor_id}</td>.*?</tr>", viewer.get("/sensors").text, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    assert cells[1] == "NORTH" and cells[2] != "never" and cells[3] == radguard.__version__
    assert cells[4] == "1" and cells[5] == "—"  # no broker configured: no live queue depth
    assert cells[6].split() == [first["job_id"], "refused"]
    assert -601 < float(cells[7].removesuffix(" s")) < -599
    # a result that waited in the spool is re-signed when sent: the wait is not taken for skew
    later = create_job(web_db, "NORTH", ["127.0.0.1"], [104], level=3)
    stale = creds.sign({**run_job(runtime, later)["body"], "sent_at": time.time() - 600})
    runtime.spool.put(later["job_id"], stale)
    assert runtime.spool.flush(lambda env: ingest(web_db, fresh(runtime, env)) and None) == 1
    row = re.search(rf"<tr><td>{creds.sensor_id}</td>.*?</tr>", viewer.get("/sensors").text, re.S)
    assert row is not None
    assert abs(float(re.findall(r"<td>(.*?)</td>", row.group(0), re.S)[7].removesuffix(" s"))) < 5
