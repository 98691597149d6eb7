"""Segmentation policy as data: validation errors, and observed flows judged against it."""

from __future__ import annotations

import csv
import getpass
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
from sqlalchemy import select

from radguard.checks.allowlist import CSV_COLUMNS
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from tests.conftest import CliResult

POLICY = """version: 1
extends: default
zones:
  - {name: imaging-modalities, role: modality, ranges: [10.20.1.0/24]}
  - {name: imaging-core, role: archive, ranges: [10.20.2.0/24]}
  - {name: guest-wifi, role: guest, ranges: [10.90.0.0/16]}
"""
FLOWS = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.10,10.20.2.10,104,52000
2026-05-01T08:31:00Z,tcp,10.20.1.10,10.20.2.10,445,100
2026-05-01T08:32:00Z,tcp,10.90.0.5,10.20.1.10,443,100
2026-05-01T08:33:00Z,tcp,10.20.1.10,8.8.4.4,443,100
2026-05-01T08:34:00Z,tcp,10.20.1.10,10.20.1.11,104,100
"""


def test_observed_flows_are_judged_against_the_policy(tmp_path: Path, sqlite_db: Database,
                                                      rg: Callable[..., CliResult]) -> None:
    (tmp_path / "fw.csv").write_text(FLOWS)
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert rg("--db", sqlite_db.url, "passive", "flows", "import", tmp_path / "fw.csv").code == 0
    r = rg("--db", sqlite_db.url, "segmentation", "check", "--policy", tmp_path / "policy.yaml", "--json")
    assert r.code == 1, r.err
    flows = {f["flow"]: f for f in json.loads(r.out)["flows"]}
    assert {k for k, f in flows.items() if f["violation"]} == {
        "10.20.1.10 → 10.20.2.10:445/tcp", "10.90.0.5 → 10.20.1.10:443/tcp", "10.20.1.10 → 8.8.4.4:443/tcp"}
    store = flows["10.20.1.10 → 10.20.2.10:104/tcp"]
    assert store["allowed_by"].startswith("modalities store") and store["to_zone"] == "imaging-core"
    assert flows["10.20.1.10 → 8.8.4.4:443/tcp"]["to_role"] == "internet"
    assert flows["10.20.1.10 → 10.20.1.11:104/tcp"]["crosses_zones"] is False
    # Without the file's zones the addresses are unknown private hosts in one pseudo-zone.
    r = rg("--db", sqlite_db.url, "segmentation", "check")
    assert "violation: 10.20.1.10 → 8.8.4.4:443/tcp, zone/role unknown/unknown → internet/internet" in r.out


def test_a_bad_policy_names_the_file_and_field(tmp_path: Path, sqlite_db: Database,
                                              rg: Callable[..., CliResult]) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(POLICY.replace("role: guest", "role: visitors"))
    r = rg("segmentation", "show", "--policy", bad)
    assert r.code == 2 and re.search(r"policy\.yaml, line \d+, field 'zones\.2\.role'", r.err), r.err
    bad.write_text(POLICY + "rules:\n  - {from: imaging-modalities, to: lab, ports: [104], why: x}\n")
    r = rg("segmentation", "show", "--policy", bad)
    assert r.code == 2 and "field 'rules.0.to'" in r.err and "'lab' is neither a zone" in r.err
    bad.write_text(POLICY + "rules:\n  - {from: modality, to: archive, ports: [70000], why: x}\n")
    assert "port 70000 is not 1-65535" in rg("segmentation", "show", "--policy", bad).err
    r = rg("--db", sqlite_db.url, "segmentation", "show")  # nothing stored: the default
    assert r.code == 0 and "allow modality → archive tcp/104,11112,2762,4242" in r.out


ALLOWED = FLOWS + """2026-05-01T09:30:00Z,tcp,10.20.1.12,10.20.2.10,104,5000
2026-05-01T09:31:00Z,tcp,10.20.1.12,10.20.2.11,11112,5000
2026-05-01T09:32:00Z,tcp,10.90.0.6,10.20.1.12,104,100
"""


def test_the_allow_list_proposes_only_allowed_flows_as_csv_and_nftables(
        tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult]) -> None:
    (tmp_path / "fw.csv").write_text(ALLOWED)
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert rg("--db", sqlite_db.url, "passive", "flows", "import", tmp_path / "fw.csv").code == 0
    pol = ("--policy", tmp_path / "policy.yaml")
    checked = json.loads(rg("--db", sqlite_db.url, "segmentation", "check", *pol, "--json").out)["flows"]
    violations = {(f["client"], f["server"], f["server_port"]) for f in checked if f["violation"]}
    assert len(violations) == 4
    r = rg("--db", sqlite_db.url, "segmentation", "export", *pol, "--format", "json")
    assert r.code == 0, r.err
    proposals = json.loads(r.out)["proposals"]
    assert [(p["from_zone"], p["to_zone"], p["protocol"], p["port"], p["sources"], p["destinations"])
            for p in proposals] == [
        ("imaging-modalities", "imaging-core", "tcp", 104, ["10.20.1.10", "10.20.1.12"], ["10.20.2.10"]),
        ("imaging-modalities", "imaging-core", "tcp", 11112, ["10.20.1.12"], ["10.20.2.11"])]
    assert proposals[0]["connections"] == 2 and proposals[0]["allowed_by"].startswith("modalities store")
    proposed = {(s, d, p["port"]) for p in proposals for s in p["sources"] for d in p["destinations"]}
    assert not proposed & violations

    # CSV: the documented columns, and each row reads back as the same proposal.
    out = tmp_path / "allow.csv"
    assert rg("--db", sqlite_db.url, "segmentation", "export", *pol, "--format", "csv", "-o", out).code == 0
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    back = [{**row, "port": int(row["port"]), "connections": int(row["connections"]),
             "sources": row["sources"].split(), "destinations": row["destinations"].split()} for row in rows]
    assert back == proposals

    # nftables: the real nft accepts the ruleset (-c: check only, nothing is loaded).
    nft = tmp_path / "allow.nft"
    assert rg("--db", sqlite_db.url, "segmentation", "export", *pol, "--format", "nftables", "-o", nft).code == 0
    text = nft.read_text()
    checked_by_nft = subprocess.run(["/usr/sbin/nft", "-c", "-f", str(nft)], capture_output=True, text=True)
    assert checked_by_nft.returncode == 0, checked_by_nft.stderr + text
    assert "set imaging_modalities_v4 {" in text and "elements = { 10.20.1.10, 10.20.1.12 }" in text
    assert "policy accept;" in text
    rules = [line.strip() for line in text.splitlines() if line.strip().startswith("ip saddr")]
    assert rules == [
        'ip saddr @imaging_modalities_v4 ip daddr { 10.20.2.10 } tcp dport 104 accept comment '
        '"imaging-modalities -> imaging-core tcp/104: ' + proposals[0]["allowed_by"] + '"',
        'ip saddr { 10.20.1.12 } ip daddr { 10.20.2.11 } tcp dport 11112 accept comment '
        '"imaging-modalities -> imaging-core tcp/11112: ' + proposals[1]["allowed_by"] + '"']
    assert "10.90.0.6" not in text and "dport 445 " not in text and "dport 443 " not in text
    # A broken ruleset is refused by nft, so the check above can fail.
    nft.write_text(text.replace("accept comment", "acept comment", 1))
    assert subprocess.run(["/usr/sbin/nft", "-c", "-f", str(nft)], capture_output=True).returncode != 0


MAIN_POLICY = """version: 1
extends: default
rules:
  - {from: modality, to: internet, ports: [443], proto: tcp, why: "vendor cloud upload"}
"""
EGRESS = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,8.8.4.4,443,5000
2026-05-01T08:31:00Z,tcp,10.60.1.11,8.8.4.4,443,5000
"""


def _policy_events(database: Database) -> list[Any]:
    """The stored-policy audit events, oldest first, as rows (action, target, actor, via, detail)."""
    with database.read() as session:
        return list(session.execute(select(AuditEvent.action, AuditEvent.target, AuditEvent.actor, AuditEvent.via,
                                           AuditEvent.detail).where(AuditEvent.action.like("segmentation.%"))
                                    .where(AuditEvent.action != "segmentation.export").order_by(AuditEvent.id)))


def test_a_stored_site_policy_judges_that_sites_flows_in_the_checks_cli_and_report(
        tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult]) -> None:
    """NWH-MAIN's stored policy allows its modalities' HTTPS to the internet; NWH-OIC keeps the
    default, where the same flow is a violation. Every reader follows the stored policies."""
    from radguard.reports.build import build_report
    from tests.conftest import EXAMPLES

    db = ("--db", sqlite_db.url)
    (tmp_path / "fw.csv").write_text(EGRESS)
    (tmp_path / "main.yaml").write_text(MAIN_POLICY)
    (tmp_path / "bad.yaml").write_text(MAIN_POLICY.replace("ports: [443]", "ports: [0]"))
    assert rg(*db, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    assert rg(*db, "passive", "flows", "import", tmp_path / "fw.csv").code == 0
    r = rg(*db, "segmentation", "set-policy", tmp_path / "bad.yaml", "--site", "NWH-MAIN")
    assert r.code == 2 and "bad.yaml, line 4, field 'rules.0'" in r.err
    assert _policy_events(sqlite_db) == []  # nothing stored, nothing audited
    assert "vendor cloud upload" not in rg(*db, "segmentation", "show", "--site", "NWH-MAIN").out  # nothing stored
    assert rg(*db, "segmentation", "set-policy", tmp_path / "main.yaml", "--site", "NOPE").code != 0
    r = rg(*db, "segmentation", "set-policy", tmp_path / "main.yaml", "--site", "NWH-MAIN")
    assert r.code == 0 and "stored for site NWH-MAIN" in r.out, r.err
    [stored] = _policy_events(sqlite_db)
    assert (stored.action, stored.target, stored.actor, stored.via) == (
        "segmentation.set-policy", "site:NWH-MAIN", getpass.getuser(), "cli")
    assert stored.detail["file"] == "main.yaml"
    assert stored.detail["blake3"] == blake3.blake3((tmp_path / "main.yaml").read_bytes()).hexdigest()
    assert "vendor cloud upload" in rg(*db, "segmentation", "show", "--site", "NWH-MAIN").out
    assert "vendor cloud upload" not in rg(*db, "segmentation", "show", "--site", "NWH-OIC").out

    checked = json.loads(rg(*db, "segmentation", "check", "--json").out)
    flows = {f["client"]: f for f in checked["flows"]}
    assert flows["10.20.1.11"]["violation"] is False and flows["10.20.1.11"]["allowed_by"] == "vendor cloud upload"
    assert flows["10.60.1.11"]["violation"] is True
    assert "main.yaml (stored for site NWH-MAIN)" in checked["policy"]

    assert rg(*db, "assess").code == 0
    found = json.loads(rg(*db, "findings", "list", "--check", "RG-FLOW-MODALITY-EGRESS", "--json").out)
    assert [f["asset"]["name"] for f in found] == ["OIC-CT"]

    with sqlite_db.read() as session:
        sites = {s.site: s for s in build_report(session, "technical").dataflow.sites}  # type: ignore[union-attr]
    assert sites["NWH-MAIN"].violations == 0 and sites["NWH-OIC"].violations == 1
    assert sites["NWH-MAIN"].policy.source == "main.yaml (stored for site NWH-MAIN)"
    assert sites["NWH-OIC"].policy.source == "default"

    assert "cleared" in rg(*db, "segmentation", "clear-policy", "--site", "NWH-MAIN").out
    assert "was not stored" in rg(*db, "segmentation", "clear-policy").out  # nothing changed: not audited
    assert [(e.action, e.target) for e in _policy_events(sqlite_db)] == [
        ("segmentation.set-policy", "site:NWH-MAIN"), ("segmentation.clear-policy", "site:NWH-MAIN")]
    checked = json.loads(rg(*db, "segmentation", "check", "--json").out)
    assert checked["violations"] == 2 and checked["policy"] == "default"
