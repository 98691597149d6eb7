"""The feeds and advisories commands as a user runs them."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.feeds.conftest import CSAF, KEV, NVD
from tests.support.ports import free_port


@pytest.fixture
def initialised(rg, sqlite_url: str) -> str:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    return sqlite_url


def test_import_directory_then_lookup_json_shape(rg, initialised: str) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", initialised, "feeds", "import", CSAF, KEV, NVD, "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["files"] == 15 and summary["advisories_added"] == 15 and summary["kev_added"] == 13
    r = rg("--db", initialised, "advisories", "lookup", "--vendor", "OFFIS", "--product", "DCMTK",
           "--version", "3.6.6", "--json")
    doc = json.loads(r.out)
    assert set(doc) == {"matches"}
    for m in doc["matches"]:
        assert set(m) == {"advisory_id", "title", "status", "reason", "cves"}
        assert m["status"] in ("affected", "needs_review")
        for c in m["cves"]:
            assert set(c) == {"id", "cvss", "kev", "ransomware"}
    ids = {m["advisory_id"] for m in doc["matches"]}
    assert ids == {"ICSMA-22-174-01", "CVE-2022-2119"}
    icsma = next(m for m in doc["matches"] if m["advisory_id"] == "ICSMA-22-174-01")
    assert icsma["cves"][0] == {"id": "CVE-2022-2119", "cvss": 7.5, "kev": False, "ransomware": None}
    r = rg("--db", initialised, "advisories", "lookup", "--vendor", "OFFIS", "--product", "DCMTK",
           "--version", "3.6.7", "--json")
    assert json.loads(r.out) == {"matches": []}
    r = rg("--db", initialised, "advisories", "lookup", "--vendor", "Phillips", "--product", "IntelliSpace Portal",
           "--version", "8.0.1")
    assert "ICSMA-18-058-02 affected" in r.out and "CVE-2017-0144 (KEV, ransomware)" in r.out


def test_feeds_list_and_reimport(rg, initialised: str) -> None:  # type: ignore[no-untyped-def]
    rg("--db", initialised, "feeds", "import", KEV)
    r = rg("--db", initialised, "feeds", "import", KEV)
    assert "KEV 0 added, 0 updated" in r.out
    doc = json.loads(rg("--db", initialised, "feeds", "list", "--json").out)
    assert [(i["source"], i["version"], i["records"]) for i in doc["imports"]] == [("kev", "2025.08.25", 13)]
    assert doc["totals"]["kev_entries"] == 13


def test_malformed_file_is_named_and_nothing_is_imported(rg, initialised: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "advisories"
    shutil.copytree(CSAF, folder)
    doc = json.loads((CSAF / "icsma-24-060-01.json").read_text())
    del doc["vulnerabilities"][1]["product_status"]["known_affected"][0]
    doc["vulnerabilities"][1]["product_status"]["known_affected"] = "CSAFPID-0001"
    (folder / "zz-broken.json").write_text(json.dumps(doc))
    r = rg("--db", initialised, "feeds", "import", folder, KEV)
    assert r.code == 2
    assert "zz-broken.json, $.vulnerabilities[1].product_status.known_affected" in r.err
    doc = json.loads(rg("--db", initialised, "feeds", "list", "--json").out)
    assert doc == {"imports": [], "totals": {"advisories": 0, "kev_entries": 0, "cves": 0}}


def test_advisories_for_the_inventory(rg, initialised: str) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", initialised, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    rg("--db", initialised, "feeds", "import", CSAF, KEV)
    doc = json.loads(rg("--db", initialised, "advisories", "--json").out)
    by_asset = {(m["asset"], m["advisory_id"]): m for m in doc["matches"]}
    router = by_asset[("NWH-MAIN/DICOM-ROUTER", "ICSMA-22-174-01")]
    assert router["status"] == "affected" and router["component"] == "OFFIS DCMTK 3.6.6"
    assert router["matched_range"] == "< 3.6.7" and router["origin"] == "component"
    r = rg("--db", initialised, "advisories", "--asset", "NWH-MAIN/DICOM-ROUTER", "--json")
    assert {m["advisory_id"] for m in json.loads(r.out)["matches"]} == {"ICSMA-22-174-01"}
    r = rg("--db", initialised, "advisories", "--asset", "NWH-MAIN/DICOM-ROUTER")
    assert "ICSMA-22-174-01" in r.out and "1 affected, 0 need review" in r.out
    assert rg("--db", initialised, "advisories", "--asset", "NOPE").code == 3


def test_update_offline_gives_a_clear_error(rg, initialised: str) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens here
    r = rg("--db", initialised, "feeds", "update", "--kev-url", f"http://127.0.0.1:{port}/kev.json",
           "--csaf-url", f"http://127.0.0.1:{port}/csaf/", "--timeout", "5")
    assert r.code == 5
    assert "offline" in r.err and "radguard feeds import" in r.err
    assert json.loads(rg("--db", initialised, "feeds", "list", "--json").out)["imports"] == []


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """A local HTTP mirror laid out like CISA's: KEV JSON and a CSAF directory with index.txt."""
    root = tmp_path / "mirror"
    (root / "csaf" / "2022").mkdir(parents=True)
    shutil.copy(KEV, root / "kev.json")
    shutil.copy(CSAF / "icsma-22-174-01.json", root / "csaf" / "2022")
    shutil.copy(CSAF / "icsma-24-060-01.json", root / "csaf" / "2022")
    (root / "csaf" / "index.txt").write_text("2022/icsma-22-174-01.json\n2022/icsma-24-060-01.json\n"
                                             "2022/icsa-22-000-01.json\n")
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_update_from_a_mirror(rg, initialised: str, mirror: str) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", initialised, "feeds", "update", "--kev-url", f"{mirror}/kev.json", "--csaf-url", f"{mirror}/csaf",
           "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["advisories_added"] == 2 and summary["kev_added"] == 13  # the non-ICSMA entry is skipped
    r = rg("--db", initialised, "advisories", "lookup", "--vendor", "OFFIS", "--product", "DCMTK", "--version", "3.6.6",
           "--json")
    assert json.loads(r.out)["matches"][0]["advisory_id"] == "ICSMA-22-174-01"
