"""The per-site data-flow map: an SVG diagram of observed flows by zone, in the technical report."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.passive.flowlogs import import_flow_log
from radguard.reports.build import build_report
from radguard.reports.render import render_html, render_pdf
from tests.conftest import EXAMPLES
from tests.support.templates import build_template, copy_of

# CT-ED-1 (imaging-modalities) stores to PACS-CORE (imaging-core), allowed; it also reaches the PACS on
# SMB and the internet (violations); two connections of one pair on two ports make one edge.
LOG = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,10.20.0.10,104,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,10.20.0.10,445,5000
2026-05-01T08:32:00Z,tcp,10.20.1.11,8.8.8.8,443,5000
2026-05-01T08:33:00Z,tcp,10.20.1.11,10.20.1.12,104,5000
2026-05-01T08:34:00Z,tcp,10.99.0.5,10.99.0.6,443,5000
"""
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def flows_db(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[Database]:
    template = build_template(tmp_path_factory.mktemp("nwflows") / "nw.db",
                              lambda s: import_inventory(s, EXAMPLES / "northwind-inventory.yaml"))
    with copy_of(template, tmp_path, "nw.db") as db:
        log = tmp_path / "fw.csv"
        log.write_text(LOG)
        with db.transaction() as s:
            import_flow_log(s, log)
        yield db


def test_the_technical_report_draws_the_sites_observed_flows_by_zone(flows_db: Database, tmp_path: Path) -> None:
    with flows_db.read() as session:
        report = build_report(session, "technical")
        assert report.dataflow is not None and report.dataflow.available
        assert [s.site for s in report.dataflow.sites] == ["NWH-MAIN"]
        assert report.dataflow.unattributed == 1  # 10.99.0.5 → 10.99.0.6 touches no asset
        svg = report.charts["dataflow-NWH-MAIN"]
        html = render_html(report)
        pdf = render_pdf(report)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for zone in ("imaging-modalities (modality)", "imaging-core (archive)", "internet (internet)"):
        assert zone in texts, texts
    assert {"CT-ED-1", "PACS-CORE", "8.8.8.8"} <= set(texts)
    groups = [g.get("id", "") for g in root.iter(f"{SVG}g")]
    edges = [g for g in groups if re.search(r"-edge-\d+$", g)]
    zones = [g for g in groups if re.search(r"-zone-\d+$", g)]
    assert len(edges) == 3 and len(zones) == 3  # CT→PACS (104 and 445), CT→internet, CT→CT-ED-2
    assert "VIOLATION tcp/104, tcp/445" in texts and "VIOLATION tcp/443" in texts and "tcp/104" in texts
    assert svg in html and "Observed data flows" in html
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["/usr/bin/pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Observed data flows at NWH-MAIN" in text and "imaging-modalities (modality)" in text


def test_without_observed_flows_the_report_says_how_to_get_them(tmp_path_factory: pytest.TempPathFactory,
                                                                 tmp_path: Path) -> None:
    template = build_template(tmp_path_factory.mktemp("nwplain") / "nw.db",
                              lambda s: import_inventory(s, EXAMPLES / "northwind-inventory.yaml"))
    with copy_of(template, tmp_path, "nw.db") as db, db.read() as session:
        report = build_report(session, "technical")
    assert report.dataflow is not None and not report.dataflow.available
    assert not [k for k in report.charts if k.startswith("dataflow")]
    assert "radguard passive import" in report.dataflow.note
