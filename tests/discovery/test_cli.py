"""``radguard discover`` end to end: evidence, inventory merge, do-not-scan, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from tests.discovery.test_hostile_and_services import _listener
from tests.support.peers import storescp
from tests.support.ports import free_port

FRAGILE_HOST = "127.0.0.61"


def _inventory(tmp_path: Path, pacs_port: int, fragile_port: int) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"""\
format: radguard-inventory
version: 1
sites:
- {{code: MAIN, name: Main Hospital}}
assets:
- site: MAIN
  name: PACS-A
  class: pacs
  endpoints:
  - {{host: 127.0.0.1, port: {pacs_port}, protocol: dicom}}
- site: MAIN
  name: FRAGILE-CT
  class: modality
  modality_type: CT
  tags: [do-not-scan]
  endpoints:
  - {{host: {FRAGILE_HOST}, port: {fragile_port}, protocol: dicom}}
""")
    return path


def test_discover_stores_evidence_and_merges_inventory(rg, database: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    closed, fragile_port = free_port(), free_port(FRAGILE_HOST)
    with storescp() as pacs, _listener(FRAGILE_HOST, fragile_port, None) as fragile_bytes:
        r = rg("--db", database.url, "inventory", "import", _inventory(tmp_path, pacs.dicom_port, fragile_port))
        assert r.code == 0, r.err
        r = rg("--db", database.url, "discover", f"127.0.0.1:{pacs.dicom_port}", f"127.0.0.1:{closed}",
               f"127.0.0.62:{pacs.dicom_port}", f"{FRAGILE_HOST}:{fragile_port}", "--timeout", "2", "--json")
        assert r.code == 0, r.err
        assert fragile_bytes == []
    doc = json.loads(r.out)
    assert set(doc["scan"]) == {"id", "started", "finished", "level", "targets", "authorized_by", "vantage_zone"}
    assert doc["scan"]["level"] == 2 and doc["scan"]["authorized_by"] is None and doc["scan"]["vantage_zone"] is None
    endpoints = {(e["host"], e["port"]): e for e in doc["endpoints"]}
    assert set(endpoints) == {("127.0.0.1", pacs.dicom_port), ("127.0.0.1", closed), ("127.0.0.62", pacs.dicom_port)}
    known = endpoints[("127.0.0.1", pacs.dicom_port)]
    assert set(known) == {"host", "port", "state", "service", "dicom", "tls", "http", "banner", "errors"}
    assert known["service"] == "dicom" and known["dicom"]["accepts_unknown_calling_ae"] is True
    assert endpoints[("127.0.0.1", closed)]["state"] == "closed"
    assert doc["skipped"] == [{"host": FRAGILE_HOST, "port": None,
                               "reason": "inventory asset MAIN/FRAGILE-CT is tagged do-not-scan"}]

    with database.read() as session:
        scan = session.scalars(select(Scan)).one()
        assert scan.id == doc["scan"]["id"] and scan.finished is not None
        assert scan.counts["open"] == 2 and scan.counts["closed"] == 1 and scan.counts["skipped"] == 1
        rows = session.scalars(select(Evidence).where(Evidence.scan_id == scan.id)).all()
        assert len(rows) == 3 and {e.kind for e in rows} == {"probe.endpoint"}
        by_endpoint = {(e.host, e.port): e for e in rows}
        pacs_row = by_endpoint[("127.0.0.1", pacs.dicom_port)]
        assert pacs_row.received == known and pacs_row.safety_level == 2
        assert pacs_row.sent["tcp_connect"] is True and pacs_row.sent["c_echo"] is True
        assert pacs_row.sent["a_associate_rq"]["called_ae"] == "ANY-SCP"
        pacs_asset = session.scalars(select(Asset).where(Asset.name == "PACS-A")).one()
        assert pacs_row.asset_id == pacs_asset.id and pacs_asset.last_seen is not None
        assert pacs_asset.confirmed is True and len(pacs_asset.endpoints) == 1
        # The closed port on the PACS host is still evidence about that asset (matched by host).
        assert by_endpoint[("127.0.0.1", closed)].asset_id == pacs_asset.id
        new = session.get(Asset, by_endpoint[("127.0.0.62", pacs.dicom_port)].asset_id)
        assert new is not None and new.confirmed is False and new.source == "discovery"
        assert new.site.code == "DISCOVERED" and new.product == "DCMTK" and new.software_version == "3.6.7"
        assert [(e.host, e.port, e.protocol, e.source) for e in new.endpoints] == [
            ("127.0.0.62", pacs.dicom_port, "dicom", "discovery")]
        fragile = session.scalars(select(Asset).where(Asset.name == "FRAGILE-CT")).one()
        assert fragile.last_seen is None
        assert session.scalars(select(Evidence).where(Evidence.host == FRAGILE_HOST)).all() == []


def test_discover_text_output_and_site_option(rg, sqlite_db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with sqlite_db.transaction() as session:
        session.add(Site(code="LAB", name="Test lab"))
    with storescp() as peer:
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.63:{peer.dicom_port}", "--site", "LAB",
               "--exclude", "127.0.0.64", "127.0.0.64:104")
    assert r.code == 0, r.err
    assert "calling AE: ANY accepted" in r.out and "DCMTK 3.6.7" in r.out
    assert "not contacted: 127.0.0.64 (excluded by --exclude 127.0.0.64)" in r.out
    assert "1 new unconfirmed assets" in r.out
    r = rg("--db", sqlite_db.url, "inventory", "list", "--site", "LAB", "--json")
    assert [a["name"] for a in json.loads(r.out)] == ["127.0.0.63"]
    assert json.loads(r.out)[0]["confirmed"] is False


def test_refusals_touch_nothing(rg, sqlite_db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scope = tmp_path / "scope.yaml"
    scope.write_text("authorized_by: A. Person\nreason: CHG-1\nwindow: {start: 2020-01-01T00:00:00Z, "
                     "end: 2020-01-02T00:00:00Z}\ntargets: [127.0.0.0/24]\nmax_level: 3\n")
    port = free_port("127.0.0.65")
    with _listener("127.0.0.65", port, None) as received:
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.65:{port}", "--level", "3")
        assert r.code == 4 and "needs --scope" in r.err
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.65:{port}", "--level", "3", "--scope", scope)
        assert r.code == 4 and "window closed at 2020-01-02" in r.err
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.65:{port}", "--calling-ae", "BAD\\AE")
        assert r.code == 2 and "--calling-ae" in r.err
    assert received == []
    with sqlite_db.read() as session:
        assert session.scalars(select(Scan)).all() == []


def test_scan_stops_starting_probes_when_the_scope_window_closes(rg, sqlite_db: Database,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    """The scope's window bounds the whole single-box scan too: ~30 s of probing at 2/s, 6 s of window."""
    import time
    from datetime import UTC, datetime, timedelta

    from tests.distributed.conftest import write_scope

    end = datetime.now(UTC) + timedelta(seconds=6)
    scope = write_scope(tmp_path / "scope.yaml", ["127.0.0.1/32"], window_end=end)
    ports = sorted({free_port() for _ in range(60)})  # nothing listens: closed endpoints
    r = rg("--db", sqlite_db.url, "discover", "127.0.0.1", "--ports", ",".join(map(str, ports)), "--level", "1",
           "--rate", "2", "--timeout", "1", "--scope", scope, "--json")
    returned = time.time()
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    probed = len(doc["endpoints"])
    assert 0 < probed < len(ports) and probed + doc["not_probed"] == len(ports)
    assert returned < end.timestamp() + 5.0 and doc["window_end"] == end.isoformat()
    with sqlite_db.read() as s:
        assert len(s.scalars(select(Evidence).where(Evidence.scan_id == doc["scan"]["id"])).all()) == probed
