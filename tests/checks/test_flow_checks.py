"""Checks on observed flows (passive flow evidence judged with the segmentation policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radguard.db.session import Database
from radguard.passive.flowlogs import import_flow_log
from tests.checks.conftest import observe

LOG = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,8.8.8.8,443,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,10.20.1.12,104,5000
2026-05-01T08:32:00Z,tcp,10.99.0.5,8.8.8.8,443,5000
"""


def _found_after_import(nw: Database, tmp_path: Path, rows: str, check_id: str) -> dict[str, Any]:
    """The check's observations after importing ``rows`` as a firewall log (none before it)."""
    log = tmp_path / "fw.csv"
    log.write_text(rows)
    with nw.transaction() as s:
        assert observe(s, check_id) == {}
        import_flow_log(s, log)
        return observe(s, check_id)


def test_modality_reaching_the_internet_is_a_finding_with_the_flow(nw: Database, tmp_path: Path) -> None:
    found = _found_after_import(nw, tmp_path, LOG, "RG-FLOW-MODALITY-EGRESS")
    assert list(found) == ["NWH-MAIN/CT-ED-1#10.20.1.11 → 8.8.8.8:443/tcp"]
    evidence = next(iter(found.values())).evidence
    assert evidence["from_zone"] == "imaging-modalities" and evidence["to_role"] == "internet"
    assert evidence["seen_in"] == ["csv"] and evidence["violation"] is True


CLEAR = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,10.20.0.10,104,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,10.20.1.12,104,5000
2026-05-01T08:32:00Z,tcp,10.20.1.11,10.20.0.10,2762,5000
"""


def test_cleartext_dicom_between_zones_fires_within_a_zone_or_on_tls_it_does_not(nw: Database,
                                                                                 tmp_path: Path) -> None:
    found = _found_after_import(nw, tmp_path, CLEAR, "RG-FLOW-CLEARTEXT-CROSS-ZONE")
    assert list(found) == ["NWH-MAIN/PACS-CORE#10.20.1.11 → 10.20.0.10:104/tcp"]
    evidence = next(iter(found.values())).evidence
    assert evidence["from_zone"] == "imaging-modalities" and evidence["to_zone"] == "imaging-core"
    assert evidence["cleartext_service"] == "dicom" and evidence["tls"] is False
