"""NVD CVE API 2.0 result pages (``/rest/json/cves/2.0``), saved as JSON files.

Each CVE becomes a :class:`ParsedCve` (score, vector, description) and, when it lists vulnerable
CPE matches, a one-CVE advisory whose products are those CPEs with their version bounds
(``versionStartIncluding`` … ``versionEndExcluding``), so inventory components match NVD data
exactly as they match CSAF advisories.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from radguard.feeds.records import ParsedAdvisory, ParsedCve, ParsedFeed, ParsedProduct, ParsedVulnerability, Reader
from radguard.feeds.versions import ALL, Interval, VersionSpec, parse_range

_METRICS = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")


def is_nvd(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("vulnerabilities"), list)
            and (doc.get("format") == "NVD_CVE" or "resultsPerPage" in doc))


def _cpe_spec(match: dict[str, Any], version: str) -> tuple[VersionSpec, str]:
    lo = match.get("versionStartIncluding") or match.get("versionStartExcluding")
    hi = match.get("versionEndIncluding") or match.get("versionEndExcluding")
    if lo or hi:
        interval = Interval(lo=lo, lo_inc="versionStartIncluding" in match, hi=hi,
                            hi_inc="versionEndIncluding" in match)
        return VersionSpec("ranges", (interval,)), interval.describe()
    if version in ("*", ""):
        return ALL, "*"
    if version == "-":
        return VersionSpec("unparseable", why="the CPE names no version ('-')"), "-"
    return parse_range(version.replace("\\", "")), version


def parse_nvd(doc: Any, source: str, sha256: str) -> ParsedFeed:
    r = Reader(source)
    feed = ParsedFeed("nvd", source, sha256, r.get(doc, "version", "$", str, required=False),
                      r.timestamp(doc, "timestamp", "$"))
    for path, item in r.items(doc, "vulnerabilities", "$", required=True):
        cve = r.req(item, "cve", path, dict)
        cpath = f"{path}.cve"
        cve_id = r.cve(cve, "id", cpath)
        assert cve_id is not None
        description = next((d.get("value") for _, d in r.items(cve, "descriptions", cpath)
                            if isinstance(d, dict) and d.get("lang") == "en"), None)
        score = vector = severity = None
        metrics = r.get(cve, "metrics", cpath, dict, required=False) or {}
        for key in _METRICS:
            entries = metrics.get(key) or []
            if not isinstance(entries, list):
                raise r.fail(f"{cpath}.metrics.{key}", "expected a list")
            primary = next((m for m in entries if isinstance(m, dict) and m.get("type") == "Primary"),
                           entries[0] if entries else None)
            if isinstance(primary, dict) and isinstance(primary.get("cvssData"), dict):
                data = primary["cvssData"]
                score = r.cvss(data, "baseScore", f"{cpath}.metrics.{key}[0].cvssData")
                vector = data.get("vectorString")
                severity = data.get("baseSeverity") or primary.get("baseSeverity")
                break
        feed.cves.append(ParsedCve(cve_id, description, score, vector, severity,
                                   r.timestamp(cve, "published", cpath), r.timestamp(cve, "lastModified", cpath)))
        products: list[ParsedProduct] = []
        for gpath, config in r.items(cve, "configurations", cpath):
            for npath, node in r.items(config, "nodes", gpath):
                for mpath, match in r.items(node, "cpeMatch", npath):
                    if not r.get(match, "vulnerable", mpath, bool, required=False):
                        continue
                    criteria = r.req(match, "criteria", mpath, str)
                    parts = criteria.split(":")
                    if len(parts) < 6 or parts[:2] != ["cpe", "2.3"]:
                        raise r.fail(f"{mpath}.criteria", f"{criteria!r} is not a CPE 2.3 name")
                    spec, text = _cpe_spec(match, parts[5])
                    products.append(ParsedProduct.build(
                        f"cpe{len(products)}", parts[3].replace("_", " "), parts[4].replace("_", " "),
                        text, criteria, spec, criteria))
        if products:
            vuln = ParsedVulnerability(cve_id, None, None, score, vector,
                                       {p.ref: "known_affected" for p in products}, [])
            feed.advisories.append(ParsedAdvisory(
                advisory_id=cve_id, source="nvd", title=(description or cve_id)[:300], publisher="NVD",
                revision=None, released_at=feed.cves[-1].published_at, updated_at=feed.cves[-1].modified_at,
                url=f"https://nvd.nist.gov/vuln/detail/{cve_id}", products=products,
                # Per CVE, so the same record in another page is recognised as unchanged.
                sha256=hashlib.sha256(json.dumps(cve, sort_keys=True).encode()).hexdigest(),
                vulnerabilities=[vuln]))
    return feed
