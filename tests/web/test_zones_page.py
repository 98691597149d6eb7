"""The per-zone page: observed flows per zone, what the default policy allows, what violates it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
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
    assert "2 observed flows judged against the segmentation policy: 1 violate it. Policy default" in page.text
    modalities = _section(page.text, "imaging-modalities")
    violations = modalities.split("<h3>Observed</h3>")[0]
    assert "10.20.1.11 → 8.8.8.8:443/tcp" in violations and "10.20.0.10:104" not in violations
    assert re.search(r"<td>out</td><td class=\"mono\">10\.20\.1\.11 → 10\.20\.0\.10:104/tcp</td><td>imaging-core</td>"
                     r"<td>1</td><td>modalities store", modalities)
    assert "modality → archive tcp/104,11112,2762,4242" in modalities.split("What the policy allows")[1]
    core = _section(page.text, "imaging-core")
    assert "None observed." in core and "<td>in</td>" in core
    assert "8.8.8.8:443" in _section(page.text, "internet")


SITES_LOG = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,8.8.4.4,443,5000
2026-05-01T08:31:00Z,tcp,10.60.1.11,8.8.4.4,443,5000
"""
MAIN_POLICY = """version: 1
extends: default
rules:
  - {from: modality, to: internet, ports: [443], proto: tcp, why: "vendor cloud upload"}
"""


def test_zones_per_site_with_its_stored_policy_and_only_the_viewers_sites(
        web_db: Database, tmp_path: Path, app: FastAPI, client_for: Callable[[str], TestClient]) -> None:
    from radguard.checks.segmentation import store_policy
    from radguard.web.accounts import create_user
    from tests.web.conftest import PASSWORD, login

    (tmp_path / "fw.csv").write_text(SITES_LOG)
    (tmp_path / "main.yaml").write_text(MAIN_POLICY)
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_flow_log(s, tmp_path / "fw.csv")
        store_policy(s, tmp_path / "main.yaml", "NWH-MAIN")
        create_user(s, "oicviewer", PASSWORD, "viewer", sites=["NWH-OIC"])
    viewer = client_for("viewer")
    main = viewer.get("/zones", params={"site": "NWH-MAIN"})
    assert main.status_code == 200
    assert "1 observed flow judged against the segmentation policy: 0 violate it. Policy main.yaml (stored for " \
           "site NWH-MAIN)" in main.text
    assert "10.20.1.11 → 8.8.4.4:443/tcp" in main.text and "10.60.1.11" not in main.text
    assert "vendor cloud upload" in main.text
    oic = viewer.get("/zones", params={"site": "NWH-OIC"})
    assert "0 violate" not in oic.text and "1 violate it. Policy default" in oic.text
    assert "10.60.1.11 → 8.8.4.4:443/tcp" in oic.text and "10.20.1.11" not in oic.text
    everything = viewer.get("/zones").text
    assert "2 observed flows" in everything and '<option value="NWH-OIC"' in everything
    assert viewer.get("/zones", params={"site": "NOPE"}).status_code == 404

    scoped = login(TestClient(app, base_url="https://testserver", headers={"accept": "text/html"}), "oicviewer")
    try:
        own = scoped.get("/zones").text
        assert "10.60.1.11 → 8.8.4.4:443/tcp" in own and "10.20.1.11" not in own
        assert scoped.get("/zones", params={"site": "NWH-MAIN"}).status_code == 404
    finally:
        scoped.close()
