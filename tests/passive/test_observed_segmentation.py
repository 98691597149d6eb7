"""RG-NOT-SEGMENTED from what the network did: real loopback captures read by ``radguard passive``.

The inventory's zone names look segmented (modalities, core), but it also puts an office PC in the
modalities zone, as a flat network whose every zone is called "imaging" would. The name-based
rules therefore pass it; the capture of the office PC talking to the CT, and of an unknown host
talking to the PACS, makes it fail. A capture of a segmented network (CT to PACS, office to
office) passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from radguard.db.session import Database
from tests.conftest import CliResult
from tests.support.capture import tcp_exchange, tcp_service, tcpdump

CT, PACS, OFFICE_PC, OFFICE_UNKNOWN = "127.31.1.11", "127.31.0.10", "127.31.9.5", "127.31.9.6"
INVENTORY = f"""format: radguard-inventory
version: 1
sites:
- {{code: FLAT, name: Flat Imaging Clinic, kind: imaging-center}}
assets:
- {{site: FLAT, name: CT-1, class: modality, network_zone: imaging-modalities,
   endpoints: [{{host: {CT}, port: 104, protocol: dicom}}], ae_titles: [CT1]}}
- {{site: FLAT, name: PACS-1, class: pacs, network_zone: imaging-core,
   endpoints: [{{host: {PACS}, port: 104, protocol: dicom}}], ae_titles: [PACS1]}}
- {{site: FLAT, name: OFFICE-PC, class: other, network_zone: imaging-modalities,
   endpoints: [{{host: {OFFICE_PC}, port: 445, protocol: smb}}]}}
"""


def _capture(path: Path, exchanges: list[tuple[str, str]]) -> Path:
    """Capture one real TCP conversation per (client, server) pair, each server on a free port."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        servers = {host: stack.enter_context(tcp_service(host)) for host in {s for _, s in exchanges}}
        with tcpdump(path, sorted(servers.values())):
            for client, server in exchanges:
                tcp_exchange(client, server, servers[server])
    return path


def _not_segmented(db: Database, rg: Callable[..., CliResult], tmp_path: Path,
                   capture: Path | None) -> dict[str, dict[str, Any]]:
    """RG-NOT-SEGMENTED findings (``ASSET#key`` → finding) after the inventory, the capture and
    an assessment, through the CLI as a user runs them."""
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    assert rg("--db", db.url, "inventory", "import", tmp_path / "inventory.yaml").code == 0
    if capture is not None:
        r = rg("--db", db.url, "passive", "import", capture, "--json")
        assert r.code == 0, r.err
    assert rg("--db", db.url, "assess").code == 0
    r = rg("--db", db.url, "findings", "list", "--check", "RG-NOT-SEGMENTED", "--json")
    assert r.code == 0, r.err
    return {f"{f['asset']['name']}#{f['key']}": f for f in json.loads(r.out)}


def test_a_flat_network_with_segmented_zone_names_fails_on_its_capture(
        tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult]) -> None:
    assert _not_segmented(sqlite_db, rg, tmp_path, None) == {}  # by the zone names, all is well
    pcap = _capture(tmp_path / "flat.pcap", [(OFFICE_PC, CT), (OFFICE_UNKNOWN, PACS), (CT, PACS)])
    found = _not_segmented(sqlite_db, rg, tmp_path, pcap)
    assert sorted(found) == ["CT-1#observed-flows", "PACS-1#observed-flows"]
    ct = found["CT-1#observed-flows"]["evidence"]
    assert ct["office_peers"] == [OFFICE_PC] and ct["flow_count"] == 1
    assert ct["flows"][0]["crosses_zones"] is False  # both in "imaging-modalities": the name hid it
    assert ct["flows"][0]["seen_in"] == ["capture"]
    pacs = found["PACS-1#observed-flows"]
    assert pacs["evidence"]["office_peers"] == [OFFICE_UNKNOWN]
    assert "whatever the zone names say" in pacs["summary"]


def test_a_segmented_capture_passes(tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult]) -> None:
    pcap = _capture(tmp_path / "segmented.pcap", [(CT, PACS), (OFFICE_PC, OFFICE_UNKNOWN)])
    assert _not_segmented(sqlite_db, rg, tmp_path, pcap) == {}
    r = rg("--db", sqlite_db.url, "segmentation", "check", "--json")
    flows = json.loads(r.out)["flows"]
    assert len(flows) == 2  # both conversations were read from the capture
