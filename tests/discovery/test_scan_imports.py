"""Scanner imports: real nmap output, Nessus and Greenbone samples, IoMT CSV, hostile files.

nmap runs for real, inside a private network namespace (``unshare --net``) where DCMTK's
storescp listens on port 104 and ``openssl s_server`` on 443, so nmap's port rules run
dicom-ping, ssl-enum-ciphers and http-title on them without touching any shared port.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Endpoint
from radguard.db.session import Database
from radguard.discovery.engine import Probed
from radguard.discovery.imports import read_report
from radguard.discovery.imports.store import VULN_KIND, store_import
from radguard.discovery.merge import store_scan
from radguard.discovery.results import DicomDoc, EndpointDoc
from radguard.errors import InputError
from tests.conftest import FIXTURES
from tests.support.peers import self_signed_certificate

SCANNERS = FIXTURES / "scanners"
_NETNS_SCRIPT = """
set -e
ip link set lo up
/usr/bin/storescp -aet STORESCP -od "$1/in" 104 >"$1/scp.log" 2>&1 & S=$!
/usr/bin/openssl s_server -accept 443 -cert "$2" -key "$3" -www -quiet >/dev/null 2>&1 & O=$!
for i in $(seq 100); do
  (echo >/dev/tcp/127.0.0.1/104 && echo >/dev/tcp/127.0.0.1/443) 2>/dev/null && break; sleep 0.1
done
/usr/bin/nmap -Pn -n -sT -p 104,443,9 --script dicom-ping,ssl-enum-ciphers,http-title \
  -oX "$1/out.xml" 127.0.0.1 >/dev/null
kill $S $O
"""


@pytest.fixture(scope="module")
def nmap_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("nmap")
    (work / "in").mkdir()
    cert, key = self_signed_certificate(work, "rg-nmap-peer")
    subprocess.run([shutil.which("unshare") or "/usr/bin/unshare", "--net", "/bin/bash", "-c", _NETNS_SCRIPT,
                    "netns", str(work), str(cert), str(key)], check=True, timeout=120)
    return work / "out.xml"


def _count(database: Database, model: type, *where: object) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_real_nmap_report_becomes_discovery_evidence(nmap_xml: Path, database: Database) -> None:
    report = read_report("nmap", nmap_xml)
    docs = {p.doc.port: p.doc for p in report.endpoints}
    assert docs[9].state == "closed"
    dicom = docs[104]
    assert dicom.state == "open" and dicom.service == "dicom"
    assert dicom.dicom is not None and dicom.dicom.accepts_any_called_ae is True  # storescp checks no AE title
    tls = docs[443]
    assert tls.service == "https" and tls.tls is not None
    assert tls.tls.versions is not None and "TLSv1.2" in tls.tls.versions
    sent = {p.doc.port: p.sent for p in report.endpoints}
    assert "http-title" in sent[443]["scanner"]["scripts"]

    result = store_import(database, report, None)
    assert result["counts"]["open"] == 2 and result["counts"]["assets_created"] == 1
    with database.read() as session:
        asset = session.scalars(select(Asset)).one()
        assert asset.confirmed is False and asset.source == "discovery"
        assert sorted(e.port for e in session.scalars(select(Endpoint))) == [104, 443]
        sources = set(session.scalars(select(Evidence.source)))
        assert sources == {f"import nmap {nmap_xml.name}"}
        assert session.scalars(select(Scan.level)).one() == 0
    # the same report again: matched, nothing duplicated
    again = store_import(database, read_report("nmap", nmap_xml), None)
    assert again["counts"]["assets_created"] == 0 and again["counts"]["assets_matched"] == 2
    assert _count(database, Asset) == 1 and _count(database, Endpoint) == 2


def test_import_is_deduplicated_against_radguards_own_discovery(database: Database) -> None:
    from radguard.db.base import utcnow

    with database.transaction() as session:
        own = Probed(EndpointDoc(host="127.0.0.2", port=11112, state="open", service="dicom",
                                 dicom=DicomDoc(echo=True)))
        now = utcnow()
        store_scan(session, Scan(started=now, finished=now, level=2, targets=["127.0.0.2"]), [own], None, 0)
    result = store_import(database, read_report("nessus", SCANNERS / "sample.nessus"), None)
    assert result["counts"]["assets_matched"] >= 1
    with database.read() as session:
        assets = {a.name: a for a in session.scalars(select(Asset))}
        assert sorted(assets) == ["127.0.0.1", "127.0.0.2"]
        assert [e.port for e in session.scalars(select(Endpoint).where(Endpoint.host == "127.0.0.2"))] == [11112]


def test_nessus_sample(database: Database) -> None:
    report = read_report("nessus", SCANNERS / "sample.nessus")
    assert sorted((p.doc.host, p.doc.port, p.doc.service) for p in report.endpoints) == [
        ("127.0.0.1", 104, "dicom"), ("127.0.0.1", 443, "http"), ("127.0.0.1", 445, "unknown"),
        ("127.0.0.2", 11112, "dicom")]
    assert report.skipped == 1  # the UDP item
    by_id = {v.scanner_id: v for v in report.vulnerabilities}
    assert set(by_id) == {"nessus:104743", "nessus:97833", "nessus:41028"}
    eternal = by_id["nessus:97833"]
    assert eternal.severity == "critical" and eternal.cves == ["CVE-2017-0143", "CVE-2017-0144"]
    assert eternal.cvss == 8.1 and eternal.port == 445
    store_import(database, report, None)
    with database.read() as session:
        vulns = session.scalars(select(Evidence).where(Evidence.kind == VULN_KIND)).all()
        assert len(vulns) == 3 and all(v.asset_id is not None for v in vulns if v.host == "127.0.0.1")


def test_greenbone_sample(database: Database) -> None:
    report = read_report("greenbone", SCANNERS / "sample-greenbone.xml")
    assert sorted((p.doc.port, p.doc.service) for p in report.endpoints) == [(104, "dicom"), (443, "https")]
    assert [(v.scanner_id, v.severity, v.cves, v.cvss) for v in report.vulnerabilities] == [
        ("greenbone:1.3.6.1.4.1.25623.1.0.117274", "medium", ["CVE-2011-3389", "CVE-2015-0204"], 4.3)]
    result = store_import(database, report, None)
    assert result["counts"]["vulnerabilities"] == 1 and result["created"] == ["127.0.0.3"]


def test_iomt_csv_profile_and_override(tmp_path: Path, database: Database) -> None:
    report = read_report("iomt-csv", SCANNERS / "iomt-claroty.csv", "claroty")
    assert sorted(p.doc.port for p in report.endpoints) == [104, 443]
    assert report.skipped == 1  # the pump has no open port
    assert report.endpoints[0].sent["scanner"]["vendor"] == "Acme Imaging"
    with pytest.raises(InputError, match="no IP address column"):
        read_report("iomt-csv", SCANNERS / "iomt-claroty.csv", "generic")
    custom = tmp_path / "export.csv"
    custom.write_text("Addr;Svc Ports\n127.0.0.6;104\n")
    assert [p.doc.host for p in read_report("iomt-csv", custom, None, {"ip": "Addr", "ports": "Svc Ports"})
            .endpoints] == ["127.0.0.6"]
    bad = tmp_path / "bad.csv"
    bad.write_text("ip,ports\n127.0.0.7,104\n127.0.0.8,99999\n")
    with pytest.raises(InputError, match=r"bad.csv, row 2 \(line 3\), field 'ports'"):
        read_report("iomt-csv", bad)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<nmaprun><host><address addr="&c;" addrtype="ipv4"/></host></nmaprun>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><NessusClientData_v2>&x;</NessusClientData_v2>"""


@pytest.mark.parametrize(("tool", "content", "message"), [
    ("nmap", BILLION_LAUGHS, "declares entities"),
    ("nessus", XXE, "declares entities"),
    ("nmap", "<nmaprun><host><address addr='127.0.0.1' addrtype='ipv4'/><ports><port protocol='tcp'",
     r"line 1, column \d+: invalid XML: unclosed token"),
    ("nmap", "<NessusClientData_v2/>", r"element <NessusClientData_v2>.*not an nmap -oX report"),
    ("nmap", "<nmaprun><host><address addr='127.0.0.1' addrtype='ipv4'/><ports><port protocol='tcp' "
     "portid='70000'><state state='open'/></port></ports></host></nmaprun>",
     r"element host\[1\]/ports/port\[1\], field 'port'"),
    ("nmap", "<nmaprun><host><address addr='127.0.0.1;rm' addrtype='ipv4'/></host></nmaprun>",
     r"element host\[1\]/address, field 'address'"),
    ("nessus", "<NessusClientData_v2><Report><ReportHost name='127.0.0.1'><ReportItem port='80' severity='9' "
     "pluginID='1'/></ReportHost></Report></NessusClientData_v2>",
     r"element ReportHost\[1\]/ReportItem\[1\], field 'severity'"),
    ("greenbone", "<report><results><result><host>127.0.0.1</host><port>http</port><nvt oid='1'/></result>"
     "</results></report>", r"element result\[1\]/port, field 'port'"),
    ("greenbone", "\x00\x01binary", "NUL"),
    ("nessus", "", "empty"),
])
def test_hostile_and_malformed_files_leave_the_database_unchanged(
        tmp_path: Path, sqlite_db: Database, tool: str, content: str, message: str) -> None:
    path = tmp_path / "report.xml"
    path.write_text(content)
    before = (_count(sqlite_db, Scan), _count(sqlite_db, Evidence), _count(sqlite_db, Asset))
    with pytest.raises(InputError, match=message) as info:
        store_import(sqlite_db, read_report(tool, path), None)
    assert str(path) in str(info.value)
    assert (_count(sqlite_db, Scan), _count(sqlite_db, Evidence), _count(sqlite_db, Asset)) == before


def test_oversized_file_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADGUARD_LIMIT_FILE_BYTES", "1000")
    path = tmp_path / "big.xml"
    path.write_text("<nmaprun>" + "<host/>" * 500 + "</nmaprun>")
    with pytest.raises(InputError, match="more than the 1,000"):
        read_report("nmap", path)


def test_cli_scan_import(rg: object, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rg.db'}"
    run = rg  # type: ignore[assignment]
    assert run("--db", db, "init").code == 0  # type: ignore[operator]
    out = run("--db", db, "scan-import", "greenbone", SCANNERS / "sample-greenbone.xml", "--json")  # type: ignore[operator]
    assert out.code == 0, out.err
    assert '"vulnerabilities": 1' in out.out or '"vulnerabilities":1' in out.out
    bad = run("--db", db, "scan-import", "nessus", SCANNERS / "sample-greenbone.xml")  # type: ignore[operator]
    assert bad.code == 2 and "not a Nessus .nessus (v2) report" in bad.err
