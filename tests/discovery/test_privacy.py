"""Level 3 queries keep booleans only: an identifiable study in Orthanc never leaks anywhere."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread, examples
from sqlalchemy import select

from radguard.db.base import Base
from radguard.db.session import Database
from tests.support.peers import Peer

# Invented identifiers, unlikely to appear anywhere by chance.
PATIENT_NAME = "Zyxwvutsrq^Quorralind"
PATIENT_ID = "RGPHI-77881990"
BIRTH_DATE = "19580317"
STUDY_DATE = "20240229"
ACCESSION = "RGACC55102"
NEEDLES = ("Zyxwvutsrq", "Quorralind", PATIENT_ID, BIRTH_DATE, "1958-03-17", STUDY_DATE, "2024-02-29", ACCESSION)


def _seed(peer: Peer) -> str:
    ds = examples.ct.copy()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = PATIENT_NAME, PATIENT_ID, BIRTH_DATE
    ds.StudyDate, ds.AccessionNumber = STUDY_DATE, ACCESSION
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    base = f"http://{peer.host}:{peer.http_port}"
    r = httpx.post(f"{base}/instances", content=buf.getvalue(), timeout=10)
    r.raise_for_status()
    # Prove the data is really there to be leaked.
    found = httpx.post(f"{base}/tools/find", json={"Level": "Study", "Query": {"PatientID": PATIENT_ID}}, timeout=10)
    assert found.json(), "the seeded study must be findable"
    assert dcmread(BytesIO(buf.getvalue())).PatientID == PATIENT_ID
    return str(ds.StudyInstanceUID)


def _dump(database: Database) -> str:
    chunks: list[str] = []
    with database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                chunks.append(json.dumps([str(v) for v in row]))
    return "\n".join(chunks)


def test_identifiers_never_reach_db_stdout_or_logs(rg, database: Database, orthanc_open: Peer, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   caplog: pytest.LogCaptureFixture) -> None:
    study_uid = _seed(orthanc_open)
    now = datetime.now(UTC)
    scope = tmp_path / "scope.yaml"
    scope.write_text(
        f"authorized_by: Test Lead\nreason: CHG-TEST privacy proof\n"
        f"window: {{start: {(now - timedelta(hours=1)).isoformat()}, end: {(now + timedelta(hours=1)).isoformat()}}}\n"
        f"targets: [127.0.0.1]\nmax_level: 3\n")
    caplog.set_level(logging.DEBUG)
    r = rg("--db", database.url, "discover", "127.0.0.1", "--ports",
           f"{orthanc_open.dicom_port},{orthanc_open.http_port}", "--level", "3", "--scope", scope, "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    dicom = next(e for e in doc["endpoints"] if e["port"] == orthanc_open.dicom_port)["dicom"]
    web = next(e for e in doc["endpoints"] if e["port"] == orthanc_open.http_port)["http"]
    assert dicom["anonymous_query"] is True and web["dicomweb_anonymous"] is True  # the queries did run
    assert doc["scan"]["authorized_by"] == "Test Lead"
    text_run = rg("--db", database.url, "discover", "127.0.0.1", "--ports", str(orthanc_open.dicom_port),
                  "--level", "3", "--scope", scope)
    assert text_run.code == 0, text_run.err
    written = "\n".join([r.out, r.err, text_run.out, text_run.err, caplog.text, _dump(database)])
    for needle in (*NEEDLES, study_uid):
        assert needle.lower() not in written.lower(), f"{needle!r} leaked"
