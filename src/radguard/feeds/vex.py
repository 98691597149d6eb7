"""VEX: a vendor's statement that a CVE does not affect (or is fixed in) a product closes the
matching advisory findings, with the statement kept as the evidence.

Three formats, JSON each:

- **CycloneDX VEX** (``bomFormat: CycloneDX`` with ``vulnerabilities``): ``vulnerabilities[].id``,
  ``analysis.state`` ``not_affected``, ``resolved``, ``resolved_with_pedigree`` or
  ``false_positive``, ``affects[].ref`` naming a ``components[]`` entry by ``bom-ref`` (its
  ``publisher``/``supplier.name``, ``name``, ``version``) or a purl.
- **OpenVEX** (``@context`` openvex): ``statements[].vulnerability.name`` (or ``@id``),
  ``status`` ``not_affected`` or ``fixed``, ``products[].@id`` purls.
- **CSAF VEX** (``document.category: csaf_vex``): ``vulnerabilities[].cve`` with
  ``product_status.known_not_affected``, ``fixed`` and ``first_fixed`` product IDs, resolved
  through ``product_tree`` branches (vendor / product_name / product_version).

A statement matches an open RG-ADVISORY or RG-KEV finding when the product names are equal
(ignoring case and punctuation), the vendor too where both are known, and the version too where
the statement names one. A finding is closed (``false_positive``, decided by ``VEX <author>``)
only when *every* CVE in its evidence is covered; the reason quotes the statements, and each
statement is stored as ``vex.statement`` evidence. Statements that say "affected" or "under
investigation" change nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radguard.errors import InputError
from radguard.textfiles import load_json

CLOSING = {"not_affected": "not affected", "resolved": "fixed", "resolved_with_pedigree": "fixed",
           "false_positive": "not affected", "fixed": "fixed", "known_not_affected": "not affected",
           "first_fixed": "fixed"}
EVIDENCE_KIND = "vex.statement"
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def _norm(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "", (value or "").lower())


@dataclass(frozen=True)
class Statement:
    cve: str
    status: str  # "not affected" or "fixed"
    vendor: str | None
    product: str
    version: str | None
    justification: str | None
    author: str
    document: str

    def covers(self, cve: str, vendor: str | None, product: str | None, version: str | None) -> bool:
        if cve != self.cve or _norm(product) != _norm(self.product) or not _norm(self.product):
            return False
        if self.vendor and vendor and _norm(self.vendor) != _norm(vendor):
            return False
        return not self.version or _norm(self.version) == _norm(version)

    def document_json(self) -> dict[str, Any]:
        return {"cve": self.cve, "status": self.status, "vendor": self.vendor, "product": self.product,
                "version": self.version, "justification": self.justification, "author": self.author,
                "document": self.document}

    def describe(self) -> str:
        what = " ".join(x for x in (self.vendor, self.product, self.version) if x)
        why = f" ({self.justification})" if self.justification else ""
        return f"{self.cve} {self.status} in {what}{why}"


def _purl(value: str) -> tuple[str | None, str, str | None] | None:
    match = re.match(r"^pkg:[^/]+/(?:(?P<ns>[^/@]+)/)?(?P<name>[^@?#]+)(?:@(?P<v>[^?#]+))?", value)
    if match is None:
        return None
    return match["ns"], match["name"], match["v"]


def _cyclonedx(doc: dict[str, Any], source: str) -> list[Statement]:
    refs: dict[str, tuple[str | None, str, str | None]] = {}
    for comp in doc.get("components") or []:
        if isinstance(comp, dict) and comp.get("name"):
            vendor = comp.get("publisher") or (comp.get("supplier") or {}).get("name")
            refs[str(comp.get("bom-ref") or comp["name"])] = (vendor, str(comp["name"]), comp.get("version"))
    meta = (doc.get("metadata") or {}).get("component")
    if isinstance(meta, dict) and meta.get("name"):
        refs[str(meta.get("bom-ref") or meta["name"])] = (meta.get("publisher"), str(meta["name"]), meta.get("version"))
    author = str(((doc.get("metadata") or {}).get("authors") or [{}])[0].get("name") or "CycloneDX VEX")
    out: list[Statement] = []
    for i, vuln in enumerate(doc.get("vulnerabilities") or []):
        where = f"$.vulnerabilities[{i}]"
        if not isinstance(vuln, dict) or not _CVE.match(str(vuln.get("id", ""))):
            raise InputError(source, where, "id", "a VEX vulnerability needs a CVE ID")
        state = str((vuln.get("analysis") or {}).get("state", ""))
        if state not in CLOSING:
            continue
        for j, affect in enumerate(vuln.get("affects") or []):
            ref = str((affect or {}).get("ref", ""))
            product = refs.get(ref) or _purl(ref)
            if product is None:
                raise InputError(source, f"{where}.affects[{j}]", "ref", f"{ref[:80]!r} names no component or purl")
            out.append(Statement(vuln["id"], CLOSING[state], product[0], product[1], product[2],
                                 (vuln.get("analysis") or {}).get("justification"), author, Path(source).name))
    return out


def _openvex(doc: dict[str, Any], source: str) -> list[Statement]:
    author = str(doc.get("author") or "OpenVEX")
    out: list[Statement] = []
    for i, st in enumerate(doc.get("statements") or []):
        where = f"$.statements[{i}]"
        vuln = st.get("vulnerability") if isinstance(st, dict) else None
        name = vuln.get("name") or vuln.get("@id") if isinstance(vuln, dict) else vuln
        if not isinstance(name, str) or not _CVE.match(name):
            raise InputError(source, where, "vulnerability", "a statement needs a CVE ID")
        if st.get("status") not in CLOSING:
            continue
        for j, prod in enumerate(st.get("products") or []):
            pid = prod.get("@id") if isinstance(prod, dict) else prod
            parsed = _purl(str(pid or ""))
            if parsed is None:
                raise InputError(source, f"{where}.products[{j}]", "@id", f"{str(pid)[:80]!r} is not a purl")
            out.append(Statement(name, CLOSING[st["status"]], parsed[0], parsed[1], parsed[2],
                                 st.get("justification") or st.get("impact_statement"), author, Path(source).name))
    return out


def _csaf_products(tree: dict[str, Any]) -> dict[str, tuple[str | None, str, str | None]]:
    out: dict[str, tuple[str | None, str, str | None]] = {}

    def walk(branches: list[Any], vendor: str | None, product: str | None) -> None:
        for b in branches or []:
            if not isinstance(b, dict):
                continue
            cat, name = b.get("category"), str(b.get("name", ""))
            v, p = (name, product) if cat == "vendor" else (vendor, name if cat == "product_name" else product)
            fp = b.get("product")
            if isinstance(fp, dict) and fp.get("product_id"):
                version = name if cat == "product_version" else None
                out[fp["product_id"]] = (v, p or str(fp.get("name", "")), version)
            walk(b.get("branches") or [], v, p)

    walk(tree.get("branches") or [], None, None)
    for fp in tree.get("full_product_names") or []:
        if isinstance(fp, dict) and fp.get("product_id") and fp["product_id"] not in out:
            out[fp["product_id"]] = (None, str(fp.get("name", "")), None)
    return out


def _csaf(doc: dict[str, Any], source: str) -> list[Statement]:
    products = _csaf_products(doc.get("product_tree") or {})
    author = str(((doc.get("document") or {}).get("publisher") or {}).get("name") or "CSAF VEX")
    out: list[Statement] = []
    for i, vuln in enumerate(doc.get("vulnerabilities") or []):
        where = f"$.vulnerabilities[{i}]"
        cve = vuln.get("cve") if isinstance(vuln, dict) else None
        if not isinstance(cve, str) or not _CVE.match(cve):
            continue  # CSAF allows vulnerabilities without a CVE; nothing to match then
        flags = {pid: f.get("label") for f in vuln.get("flags") or [] for pid in f.get("product_ids") or []}
        for status, ids in (vuln.get("product_status") or {}).items():
            if status not in CLOSING:
                continue
            for pid in ids or []:
                if pid not in products:
                    raise InputError(source, f"{where}.product_status.{status}", None,
                                     f"product ID {str(pid)[:60]!r} is not in the product_tree")
                vendor, name, version = products[pid]
                out.append(Statement(cve, CLOSING[status], vendor, name, version, flags.get(pid), author,
                                     Path(source).name))
    return out


def read_vex(path: Path) -> list[Statement]:
    """The closing statements of a CycloneDX VEX, OpenVEX or CSAF VEX JSON document."""
    source = str(path)
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise InputError(source, "$", None, "a VEX document is a JSON object")
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, source)
    if "openvex" in str(doc.get("@context", "")):
        return _openvex(doc, source)
    if (doc.get("document") or {}).get("category") == "csaf_vex":
        return _csaf(doc, source)
    raise InputError(source, "$", None, "not a CycloneDX VEX, OpenVEX or CSAF VEX (csaf_vex) document")
