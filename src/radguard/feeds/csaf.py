"""CSAF 2.0 advisories: product tree, product status, remediations and scores.

The product tree is walked branch by branch; the vendor, product name and version met on the
way down to each leaf make one :class:`ParsedProduct`. Relationship products ("X installed on
Y") answer to the component they name. Product groups are expanded wherever they are used.

Statuses are reduced to what matching needs: ``known_affected`` (also ``first_affected`` and
``last_affected``), ``fixed`` (also ``first_fixed`` and ``recommended``),
``known_not_affected`` and ``under_investigation``.
"""

from __future__ import annotations

from typing import Any

from radguard.feeds.records import ParsedAdvisory, ParsedProduct, ParsedVulnerability, Reader
from radguard.feeds.versions import VersionSpec, parse_range

STATUS_MAP = {
    "known_affected": "known_affected",
    "first_affected": "known_affected",
    "last_affected": "known_affected",
    "fixed": "fixed",
    "first_fixed": "fixed",
    "recommended": "fixed",
    "known_not_affected": "known_not_affected",
    "under_investigation": "under_investigation",
}
# When one product is listed under several statuses, the more certain statement wins.
_STATUS_RANK = {"known_not_affected": 4, "fixed": 3, "known_affected": 2, "under_investigation": 1}


def is_csaf(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("document"), dict) and "csaf_version" in doc["document"]


def _cpe_parts(cpe: str) -> tuple[str, str, str] | None:
    """vendor, product, version of a CPE 2.3 name (underscores become spaces)."""
    parts = cpe.split(":")
    if len(parts) >= 6 and parts[0] == "cpe" and parts[1] == "2.3":
        return parts[3].replace("_", " "), parts[4].replace("_", " "), parts[5]
    return None


def _leaf(r: Reader, branch_path: list[tuple[str, str]], product: Any, path: str) -> ParsedProduct:
    ref = r.req(product, "product_id", path, str)
    full_name = r.get(product, "name", path, str, required=False)
    helper = r.get(product, "product_identification_helper", path, dict, required=False) or {}
    cpe = helper.get("cpe") if isinstance(helper.get("cpe"), str) else None
    vendor = family = name = version = ""
    for category, text in branch_path:
        if category == "vendor":
            vendor = text
        elif category == "product_family":
            family = text
        elif category == "product_name":
            name = text
        elif category in ("product_version", "product_version_range"):
            version = text
    if (not vendor or not name) and cpe and (parts := _cpe_parts(cpe)):
        vendor = vendor or parts[0]
        name = name or parts[1]
        if not version and parts[2] not in ("*", "-", ""):
            version = parts[2]
    name = name or family
    spec: VersionSpec
    if version:
        spec = parse_range(version)
    elif full_name and ":" in full_name:
        # No version branch: CISA writes "Product: versions prior to X" into the full name.
        spec = parse_range(full_name.split(":", 1)[1])
    else:
        spec = VersionSpec("unparseable", why="the advisory gives no version for this product")
    return ParsedProduct.build(ref, vendor, name, version or None, full_name, spec, cpe)


def _walk(r: Reader, branches: list[tuple[str, Any]], trail: list[tuple[str, str]],
          out: list[ParsedProduct]) -> None:
    for path, branch in branches:
        category = r.req(branch, "category", path, str)
        name = r.req(branch, "name", path, str)
        here = [*trail, (category, name)]
        if "product" in branch:
            out.append(_leaf(r, here, branch["product"], f"{path}.product"))
        _walk(r, r.items(branch, "branches", path), here, out)


def _score(r: Reader, vuln: Any, path: str) -> tuple[float | None, str | None]:
    best: tuple[float | None, str | None] = (None, None)
    for spath, score in r.items(vuln, "scores", path):
        for key in ("cvss_v3", "cvss_v4", "cvss_v2"):
            cvss = r.get(score, key, spath, dict, required=False)
            if cvss is None:
                continue
            base = r.cvss(cvss, "baseScore", f"{spath}.{key}")
            vector = r.get(cvss, "vectorString", f"{spath}.{key}", str, required=False)
            if base is not None and (best[0] is None or base > best[0]):
                best = (base, vector)
            break
    return best


def parse_csaf(doc: Any, source: str, sha256: str) -> ParsedAdvisory:
    """Validate and read one CSAF 2.0 document; errors name the file and JSON path."""
    r = Reader(source)
    if not isinstance(doc, dict):
        raise r.fail("$", "a CSAF advisory must be a JSON object")
    document = r.req(doc, "document", "$", dict)
    version = r.req(document, "csaf_version", "$.document", str)
    if not version.startswith("2."):
        raise r.fail("$.document.csaf_version", f"CSAF {version} is not supported; radguard reads CSAF 2.x")
    tracking = r.req(document, "tracking", "$.document", dict)
    advisory_id = r.req(tracking, "id", "$.document.tracking", str).strip()
    title = r.req(document, "title", "$.document", str)
    publisher = r.get(document, "publisher", "$.document", dict, required=False) or {}
    url = None
    for rpath, ref in r.items(document, "references", "$.document"):
        if r.get(ref, "category", rpath, str, required=False) == "self":
            url = r.get(ref, "url", rpath, str, required=False)
            break

    tree = r.get(doc, "product_tree", "$", dict, required=False) or {}
    products: list[ParsedProduct] = []
    _walk(r, r.items(tree, "branches", "$.product_tree"), [], products)
    for fpath, fpn in r.items(tree, "full_product_names", "$.product_tree"):
        products.append(_leaf(r, [], fpn, fpath))
    by_ref = {p.ref: p for p in products}
    for rpath, rel in r.items(tree, "relationships", "$.product_tree"):
        component = r.req(rel, "product_reference", rpath, str)
        fpn = r.req(rel, "full_product_name", rpath, dict)
        ref = r.req(fpn, "product_id", f"{rpath}.full_product_name", str)
        base = by_ref.get(component)
        if base is None:
            raise r.fail(f"{rpath}.product_reference", f"names product {component!r}, which the tree does not define")
        products.append(ParsedProduct.build(ref, base.vendor, base.product, base.version_text,
                                            r.get(fpn, "name", rpath, str, required=False), base.spec, base.cpe))
        by_ref[ref] = products[-1]
    groups: dict[str, list[str]] = {}
    for gpath, group in r.items(tree, "product_groups", "$.product_tree"):
        gid = r.req(group, "group_id", gpath, str)
        groups[gid] = [str(p) for p in r.req(group, "product_ids", gpath, list)]

    vulns: list[ParsedVulnerability] = []
    for vpath, vuln in r.items(doc, "vulnerabilities", "$"):
        status: dict[str, str] = {}
        pstatus = r.get(vuln, "product_status", vpath, dict, required=False) or {}
        for category, ids in pstatus.items():
            mapped = STATUS_MAP.get(category)
            if mapped is None:
                continue
            if not isinstance(ids, list):
                raise r.fail(f"{vpath}.product_status.{category}", "expected a list of product IDs")
            for pid in ids:
                pid = str(pid)
                if pid not in by_ref:
                    raise r.fail(f"{vpath}.product_status.{category}",
                                 f"names product {pid!r}, which the product tree does not define")
                if _STATUS_RANK[mapped] > _STATUS_RANK.get(status.get(pid, ""), 0):
                    status[pid] = mapped
        remediations = []
        for rpath, rem in r.items(vuln, "remediations", vpath):
            ids = [str(p) for p in (r.get(rem, "product_ids", rpath, list, required=False) or [])]
            for gid in r.get(rem, "group_ids", rpath, list, required=False) or []:
                ids.extend(groups.get(str(gid), []))
            remediations.append({
                "category": r.req(rem, "category", rpath, str),
                "details": r.get(rem, "details", rpath, str, required=False),
                "url": r.get(rem, "url", rpath, str, required=False),
                "product_ids": ids,
            })
        cwe = r.get(vuln, "cwe", vpath, dict, required=False) or {}
        score, vector = _score(r, vuln, vpath)
        cve = r.cve(vuln, "cve", vpath, required=False)
        vulns.append(ParsedVulnerability(
            cve_id=cve,
            title=r.get(vuln, "title", vpath, str, required=False),
            cwe=cwe.get("id") if isinstance(cwe.get("id"), str) else None,
            cvss_score=score, cvss_vector=vector, product_status=status, remediations=remediations,
        ))
    return ParsedAdvisory(
        advisory_id=advisory_id, source="csaf", title=title,
        publisher=publisher.get("name") if isinstance(publisher.get("name"), str) else None,
        revision=r.get(tracking, "version", "$.document.tracking", str, required=False),
        released_at=r.timestamp(tracking, "initial_release_date", "$.document.tracking"),
        updated_at=r.timestamp(tracking, "current_release_date", "$.document.tracking"),
        url=url, sha256=sha256, products=products, vulnerabilities=vulns,
    )
