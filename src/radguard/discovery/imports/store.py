"""Storing an imported scanner report exactly as radguard stores its own scans.

An import is a ``scan`` row (level 0: radguard sent nothing; ``options.imported_from`` names the
tool and file), one ``probe.endpoint`` evidence row per endpoint in the same document shape as
``radguard discover`` (so the same checks judge it), and the same inventory merge
(:func:`radguard.discovery.merge.store_scan`): an endpoint already in the inventory, whether
declared or found by radguard's own discovery, is matched, never duplicated; a new one becomes
an *unconfirmed* asset for someone to review. Vulnerabilities a scanner reported are kept as
``scanner.vulnerability`` evidence on the same asset. Everything is parsed before the
transaction starts, so a bad file leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from radguard.db.base import utcnow
from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.discovery.engine import Probed
from radguard.discovery.merge import EVIDENCE_KIND, sort_results, store_scan

VULN_KIND = "scanner.vulnerability"
IMPORT_LEVEL = 0  # nothing was sent by radguard


@dataclass
class Vulnerability:
    """One scanner finding on one endpoint (Nessus ReportItem, Greenbone result)."""

    host: str
    port: int | None
    scanner_id: str  # Nessus plugin ID, Greenbone NVT OID
    name: str
    severity: str  # the scanner's own word: critical/high/medium/low/info/log
    cves: list[str] = field(default_factory=list)
    cvss: float | None = None
    output: str | None = None

    def document(self) -> dict[str, Any]:
        return {"scanner_id": self.scanner_id, "name": self.name, "severity": self.severity,
                "cves": self.cves, "cvss": self.cvss, "output": self.output}


@dataclass
class ImportedReport:
    tool: str  # nmap, nessus, greenbone, iomt-csv
    path: Path
    endpoints: list[Probed]
    skipped: int = 0
    facts: dict[str, str] = field(default_factory=dict)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)


def store_import(database: Database, report: ImportedReport, site: str | None) -> dict[str, Any]:
    """Write the report in one transaction; return what was stored (the ``--json`` document).

    :param database: where to store it.
    :param report: the parsed report (parse first: a bad file never reaches the database).
    :param site: the site code new unconfirmed assets go to (default: DISCOVERED).
    """
    now = utcnow()
    results = sort_results(report.endpoints)
    scan = Scan(started=now, finished=now, level=IMPORT_LEVEL, targets=[report.path.name],
                reason=f"imported {report.tool} report {report.path.name}",
                options={"imported_from": report.tool, "file": report.path.name, "site": site,
                         "scanner": report.facts})
    source = f"import {report.tool} {report.path.name}"
    with database.transaction() as session:
        summary = store_scan(session, scan, results, site, report.skipped)
        session.execute(update(Evidence).where(Evidence.scan_id == scan.id, Evidence.kind == EVIDENCE_KIND)
                        .values(source=source).execution_options(synchronize_session=False))
        owners: dict[str, int | None] = {}
        for host, asset_id in session.execute(select(Evidence.host, Evidence.asset_id)
                                              .where(Evidence.scan_id == scan.id)):
            if host is not None and (asset_id is not None or host not in owners):
                owners[host] = asset_id
        for vuln in report.vulnerabilities:
            session.add(Evidence(kind=VULN_KIND, asset_id=owners.get(vuln.host), scan_id=scan.id, host=vuln.host,
                                 port=vuln.port, safety_level=IMPORT_LEVEL, sent={}, received=vuln.document(),
                                 source=source, collected_at=now))
        scan.counts = {**scan.counts, "vulnerabilities": len(report.vulnerabilities)}
        session.flush()
        scan_id, counts = scan.id, dict(scan.counts)
    return {"scan": {"id": scan_id, "imported_from": report.tool, "file": report.path.name},
            "counts": counts, "created": summary.created}
