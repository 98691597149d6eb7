"""No patient identifier from a capture reaches the database, the logs, the CLI or a report.

The capture (tests/passive/conftest.py) carries a seeded synthetic patient's name, ID and birth
date in a C-STORE data set, C-FIND and C-MOVE keys, an HL7 ADT PID segment, a DICOMweb query
string, a cookie, and the JSON body of a REST request and of its response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from radguard.db.base import Base
from radguard.db.session import Database
from tests.conftest import CliResult
from tests.passive.conftest import Traffic
from tests.support.capture import NEEDLES, SEED_BIRTH, SEED_ID, SEED_NAME


def _found(text: str) -> list[str]:
    low = text.lower()
    return [n for n in NEEDLES if n.lower() in low]


def test_the_capture_really_carries_the_patient(traffic: Traffic) -> None:
    """Otherwise the test below would prove nothing."""
    raw = traffic.pcap.read_bytes()
    for needle in (SEED_NAME, SEED_ID, SEED_BIRTH):
        assert raw.count(needle.encode()) >= 3, needle  # C-STORE, C-FIND, HL7, HTTP: several places
    assert b'"PatientName": "' + SEED_NAME.encode() in raw  # the JSON body of the REST request


def test_no_patient_identifier_in_db_logs_output_or_reports(
        rg: Callable[..., CliResult], sqlite_db: Database, traffic: Traffic, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    out = []
    for extra in ((), ("--json",)):
        r = rg("--db", sqlite_db.url, "passive", "import", traffic.pcap, "--hl7-ports", str(traffic.hl7_port), *extra)
        assert r.code == 0, r.err
        out += [r.out, r.err]
    assert "DICOM" in out[0] and '"dicom_conversations": 4' in out[2]  # the import did find things
    for audience in ("technical", "executive"):
        report = tmp_path / f"{audience}.html"
        r = rg("--db", sqlite_db.url, "report", "--audience", audience, "-o", report)
        assert r.code == 0, r.err
        out += [r.out, r.err, report.read_text()]
    r = rg("--db", sqlite_db.url, "inventory", "list", "--json")
    out += [r.out, r.err]
    assert _found("\n".join(out)) == []
    assert _found("\n".join(rec.getMessage() for rec in caplog.records)) == []
    rows = []
    with sqlite_db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in session.execute(select(table))]
    assert len(rows) > 20  # evidence, assets, endpoints, flows, the scan
    assert _found("\n".join(rows)) == []
