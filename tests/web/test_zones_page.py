"""The per-zone page: observed flows per zone, what the default policy allows, what violates it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.passive.flowlogs import import_flow_log
from tests.conftest import EXAMPLES

LOG = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,10.20.0.10,104,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,8.8.8.8,443,5000
"""


def _section(html: str, zone: str) -> str:
    match = re.search(rf'<section id="zone-\d+">\s*<h2>{re.escape(zone)} .*?</section>', html, re.S)
    assert match, zone
    return match.group(0)


def test_zones_page_shows_observed_allowed_and_violating_flows(web_db: Database, tmp_path: Path,
                                                               client_for: Callable[[str], TestClient]) -> None:
    viewer = client_for("viewer")
    empty = viewer.get("/zones")
    assert empty.status_code == 200 and "No observed flows yet" in empty.text
    (tmp_path / "fw.csv").write_text(LOG)
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_flow_log(s, tmp_path / "fw.csv")
    page = viewer.get("/zones")
    assert page.status_code == 200
    assert "2 observed flows judged against radguard's default segmentation policy: 1 violate it" in page.text
    modalities = _section(page.text, "imaging-modalities")
    violations = modalities.split("<h3>Observed</h3>")[0]
    assert "10.20.1.11 → 8.8.8.8:443/tcp" in violations and "10.20.0.10:104" not in violations
    assert re.search(r"<td>out</td><td class=\"mono\">10\.20\.1\.11 → 10\.20\.0\.10:104/tcp</td><td>imaging-core</td>"
                     r"<td>1</td><td>modalities store", modalities)
    assert "modality → archive tcp/104,11112,2762,4242" in modalities.split("What the policy allows")[1]
    core = _section(page.text, "imaging-core")
    assert "None observed." in core and "<td>in</td>" in core
    assert "8.8.8.8:443" in _section(page.text, "internet")
