"""The CISA Known Exploited Vulnerabilities catalog.

KEV says *that* a CVE is exploited in the wild (and whether ransomware campaigns are known to
use it), not which versions are affected. radguard therefore never matches an asset against KEV
by name alone: KEV enriches every CVE that an advisory has already matched.
"""

from __future__ import annotations

from typing import Any

from radguard.feeds.records import ParsedFeed, ParsedKev, Reader


def is_kev(doc: Any) -> bool:
    return isinstance(doc, dict) and "catalogVersion" in doc and isinstance(doc.get("vulnerabilities"), list)


def parse_kev(doc: Any, source: str, sha256: str) -> ParsedFeed:
    r = Reader(source)
    version = r.req(doc, "catalogVersion", "$", str)
    released = r.timestamp(doc, "dateReleased", "$")
    entries: list[ParsedKev] = []
    for path, item in r.items(doc, "vulnerabilities", "$", required=True):
        cve = r.cve(item, "cveID", path)
        assert cve is not None
        ransomware = r.get(item, "knownRansomwareCampaignUse", path, str, required=False)
        cwes = r.get(item, "cwes", path, list, required=False) or []
        entries.append(ParsedKev(
            cve_id=cve,
            vendor_project=r.get(item, "vendorProject", path, str, required=False),
            product=r.get(item, "product", path, str, required=False),
            name=r.get(item, "vulnerabilityName", path, str, required=False),
            date_added=r.day(item, "dateAdded", path),
            due_date=r.day(item, "dueDate", path),
            ransomware=ransomware.strip().capitalize() if ransomware else None,
            short_description=r.get(item, "shortDescription", path, str, required=False),
            required_action=r.get(item, "requiredAction", path, str, required=False),
            notes=r.get(item, "notes", path, str, required=False),
            cwes=[str(c) for c in cwes],
        ))
    return ParsedFeed("kev", source, sha256, version, released, kev=entries)
