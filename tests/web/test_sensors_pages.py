"""The sensors and jobs pages, and revoking a sensor from the web (admin only, audited)."""

from __future__ import annotations

from collections.abc import Callable

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
