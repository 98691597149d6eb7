"""Reading a software bill of materials into an asset's software components.

The SBOM a manufacturer ships with a modality, a PACS or an AI product lists the libraries
inside it: the parts advisories are written about (DCMTK, OpenSSL, a web server). Importing
it puts each component on the asset with its purl and CPE, so advisory matching covers the
software inside a device and not only its nameplate.

CycloneDX (JSON and XML) is read with ``cyclonedx-python-lib`` and SPDX (JSON) with
``spdx-tools``, the formats' maintained libraries. The format is told from the content, not
the file name. The component the document describes (the device or product itself) is kept
in the evidence summary, not added as a component of itself.
"""

from __future__ import annotations

import hashlib
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packageurl import PackageURL
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import SoftwareComponent
from radguard.errors import InputError
from radguard.inventory.queries import find_asset
from radguard.textfiles import decode_text, parse_json, read_bytes, sniff_encoding

EVIDENCE_KIND = "doc.sbom"
SOURCE = "sbom"
_CDX_NS = "http://cyclonedx.org/schema/bom/"
# Component types that are not software one could patch or that list single files.
_SKIPPED_CDX_TYPES = {"data", "file"}
_LIMITS = {"vendor": 200, "product": 200, "version": 100, "cpe": 300, "purl": 500}


@dataclass(frozen=True)
class Component:
    vendor: str
    product: str
    version: str | None
    purl: str | None
    cpe: str | None
    where: str  # JSON path or element, for messages


@dataclass
class SbomDocument:
    format: str  # "CycloneDX" or "SPDX"
    spec_version: str | None
    serial: str | None
    created: str | None
    describes: dict[str, Any] | None
    components: list[Component] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


def _cpe(value: str | None) -> str | None:
    if value and (value.startswith("cpe:2.3:") or value.startswith("cpe:/")):
        return value
    return None


def _cpe_vendor(cpe: str | None) -> str | None:
    if not cpe:
        return None
    parts = cpe[8:].split(":") if cpe.startswith("cpe:2.3:") else cpe[5:].split(":")
    vendor = parts[1] if len(parts) > 1 else ""
    return vendor.replace("\\", "").replace("_", " ") if vendor not in ("", "*", "-") else None


def _purl(source: str, where: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, PackageURL):
        purl = value
    else:
        try:
            purl = PackageURL.from_string(str(value))
        except ValueError as exc:
            raise InputError(source, where, "purl", f"not a valid package URL: {exc}") from None
    text = purl.to_string()
    if len(text) > _LIMITS["purl"]:
        # Qualifiers (download URLs, checksums) can be long; the identity is type/namespace/name@version.
        text = PackageURL(purl.type, purl.namespace, purl.name, purl.version).to_string()
    return text


def _purl_namespace(purl: str | None) -> str | None:
    if not purl:
        return None
    ns = PackageURL.from_string(purl).namespace
    return ns.split("/")[-1] if ns else None


def _make(source: str, where: str, vendor: str | None, name: str | None, version: str | None,
          purl: str | None, cpe: str | None) -> Component:
    if not name or not name.strip():
        raise InputError(source, where, "name", "the component has no name")
    vendor = (vendor or _cpe_vendor(cpe) or _purl_namespace(purl) or "unknown").strip()
    comp = Component(vendor=vendor, product=name.strip(), version=(version or "").strip() or None,
                     purl=purl, cpe=cpe, where=where)
    for attr in ("vendor", "product", "version", "cpe"):
        value = getattr(comp, attr)
        if value is not None and len(value) > _LIMITS[attr]:
            raise InputError(source, where, attr, f"longer than {_LIMITS[attr]} characters; shorten it in the SBOM")
    return comp


def read_sbom(path: Path) -> SbomDocument:
    """Parse a CycloneDX JSON/XML or SPDX JSON document; raise InputError naming what is wrong."""
    name = str(path)
    data = read_bytes(path)
    head = data[:4096].decode(sniff_encoding(data[:4]), errors="ignore").lstrip("\ufeff \t\r\n")[:1]
    if head in ("{", "["):
        doc = parse_json(decode_text(data, name), name)
        if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
            result = _read_cyclonedx_json(name, doc)
        elif isinstance(doc, dict) and "spdxVersion" in doc:
            result = _read_spdx_json(name, doc)
        else:
            raise InputError(name, "$", None, "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON")
    elif head == "<":
        result = _read_cyclonedx_xml(name, data)
    else:
        raise InputError(name, None, None, "expected CycloneDX JSON or XML, or SPDX JSON (convert tag-value "
                                           "SPDX with `pyspdxtools -i FILE -o FILE.spdx.json`)")
    return _deduplicate(result)


def _deduplicate(doc: SbomDocument) -> SbomDocument:
    """One component per (vendor, product, version), as the inventory stores them.

    A library bundled in several versions keeps every version (advisories differ by version);
    such products are reported in ``duplicates`` so that a reviewer can confirm them.
    """
    kept: dict[tuple[str, str, str | None], Component] = {}
    versions: dict[tuple[str, str], list[Component]] = {}
    for comp in doc.components:
        key = (comp.vendor.casefold(), comp.product.casefold(), comp.version)
        if key not in kept:
            kept[key] = comp
            versions.setdefault(key[:2], []).append(comp)
    doc.duplicates = [
        {"vendor": comps[0].vendor, "product": comps[0].product,
         "versions": [c.version or "" for c in comps]}
        for comps in versions.values() if len(comps) > 1
    ]
    doc.components = list(kept.values())
    return doc


# --- CycloneDX -----------------------------------------------------------------------------

def _cdx_components(source: str, components: Any) -> tuple[list[Component], int]:
    out: list[Component] = []
    skipped = 0

    def walk(items: Any, path: str) -> None:
        nonlocal skipped
        for i, c in enumerate(items):
            where = f"{path}[{i}] ({c.name})"
            ctype = getattr(c.type, "value", str(c.type))
            if ctype in _SKIPPED_CDX_TYPES:
                skipped += 1
            else:
                vendor = None
                for who in (c.supplier, getattr(c, "manufacturer", None)):
                    if who is not None and who.name:
                        vendor = who.name
                        break
                vendor = vendor or c.publisher or c.group
                out.append(_make(source, where, vendor, c.name, c.version,
                                 _purl(source, where, c.purl), _cpe(c.cpe)))
            walk(c.components, f"{where}.components")

    walk(components, "$.components")
    return out, skipped


def _cdx_document(source: str, bom: Any, components: Any, spec_version: str | None) -> SbomDocument:
    meta = bom.metadata
    describes = None
    if meta is not None and meta.component is not None:
        mc = meta.component
        describes = {"name": mc.name, "version": mc.version,
                     "supplier": mc.supplier.name if mc.supplier is not None else None}
    found, skipped = _cdx_components(source, components)
    return SbomDocument(
        format="CycloneDX", spec_version=spec_version,
        serial=str(bom.serial_number) if bom.serial_number else None,
        created=meta.timestamp.isoformat() if meta is not None and meta.timestamp else None,
        describes=describes, components=found, skipped=skipped,
    )


# Top-level keys read through the library's Bom; components are read one by one (below).
_CDX_HEADER_KEYS = ("bomFormat", "specVersion", "serialNumber", "version", "metadata")


# Fields radguard stores as text. The library keeps whatever JSON type it is given (a name of
# 42 stays an int), so they are checked on the raw document, where the path is still known.
_CDX_TEXT_FIELDS = ("name", "version", "group", "publisher")
_CDX_PARTIES = ("supplier", "manufacturer")


def _check_cdx_text(source: str, raw: Any, where: str) -> None:
    """Refuse a component (or nested component) whose name, version or vendor is not a string."""
    if not isinstance(raw, dict):
        return  # the library reports the component as invalid, with its path
    for key in _CDX_TEXT_FIELDS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(source, f"{where}.{key}", None,
                             f"must be text in quotes, not {value!r}; fix the SBOM or ask its supplier")
    for party in _CDX_PARTIES:
        who = raw.get(party)
        value = who.get("name") if isinstance(who, dict) else None
        if value is not None and not isinstance(value, str):
            raise InputError(source, f"{where}.{party}.name", None,
                             f"must be text in quotes, not {value!r}; fix the SBOM or ask its supplier")
    children = raw.get("components")
    if isinstance(children, list):
        for j, child in enumerate(children):
            _check_cdx_text(source, child, f"{where}.components[{j}]")


def _read_cyclonedx_json(source: str, doc: dict[str, Any]) -> SbomDocument:
    """Parse with cyclonedx-python-lib, one component at a time.

    Building the library's Bom with every component sorts them into an ordered set, which
    takes seconds for a few thousand components; parsing each component on its own keeps the
    same validation, costs a fraction, and names the component that fails.
    """
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent

    _check_cdx_references(source, doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            bom = Bom.from_json({k: doc[k] for k in _CDX_HEADER_KEYS if k in doc})  # type: ignore[attr-defined]
        except Exception as exc:  # the library raises ValueError, TypeError, KeyError...
            raise InputError(source, "$.metadata", None, f"not valid CycloneDX: {exc}") from None
        raw_components = doc.get("components") or []
        if not isinstance(raw_components, list):
            raise InputError(source, "$.components", None, "must be a list")
        components = []
        for i, raw in enumerate(raw_components):
            _check_cdx_text(source, raw, f"$.components[{i}]")
            try:
                components.append(CdxComponent.from_json(raw))  # type: ignore[attr-defined]
            except Exception as exc:
                label = raw.get("name") if isinstance(raw, dict) else None
                where = f"$.components[{i}]" + (f" ({label})" if label else "")
                raise InputError(source, where, None, f"not valid CycloneDX: {exc}") from None
    return _cdx_document(source, bom, components, str(doc["specVersion"]) if doc.get("specVersion") else None)


def _read_cyclonedx_xml(source: str, data: bytes) -> SbomDocument:
    from cyclonedx.model.bom import Bom
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise InputError(source, None, None, "XML with a DOCTYPE or entities is refused; CycloneDX needs neither")
    try:
        root = fromstring(data, forbid_dtd=True)  # defusedxml: no DTD, entities or external references
    except DefusedXmlException:
        raise InputError(source, None, None,
                         "XML with a DOCTYPE or entities is refused; CycloneDX needs neither") from None
    except ET.ParseError as exc:
        line, col = exc.position
        raise InputError(source, f"line {line}, column {col + 1}", None, f"invalid XML: {exc}") from None
    if not root.tag.startswith("{" + _CDX_NS) or not root.tag.endswith("}bom"):
        raise InputError(source, "line 1", None,
                         f"root element {root.tag!r} is not a CycloneDX <bom>; SPDX is read as JSON only")
    spec_version = root.tag[len(_CDX_NS) + 1:].split("}")[0]
    if spec_version not in _CDX_XML_VERSIONS:
        raise InputError(source, "line 1", None, f"CycloneDX {spec_version!r} is not a version radguard reads "
                                                 f"({', '.join(_CDX_XML_VERSIONS)})")
    _check_xml_references(source, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            bom = Bom.from_xml(root)  # type: ignore[attr-defined]
        except Exception as exc:
            raise InputError(source, None, None, f"not valid CycloneDX {spec_version} XML: {exc}") from None
    return _cdx_document(source, bom, bom.components, spec_version)


_CDX_JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6")
_CDX_XML_VERSIONS = ("1.0", "1.1", *_CDX_JSON_VERSIONS)


def _check_cdx_references(source: str, doc: dict[str, Any]) -> None:
    """specVersion supported, every bom-ref defined once, every dependency naming a defined one."""
    version = doc.get("specVersion")
    if str(version) not in _CDX_JSON_VERSIONS:
        raise InputError(source, "$.specVersion", None, f"CycloneDX {version!r} is not a version radguard reads "
                                                        f"({', '.join(_CDX_JSON_VERSIONS)})")
    defined: dict[str, str] = {}

    def walk(items: Any, path: str) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise InputError(source, path, None, "must be a list")
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                raise InputError(source, f"{path}[{i}]", None, "each component must be an object")
            ref = c.get("bom-ref")
            if ref is not None:
                if not isinstance(ref, str) or not ref:
                    raise InputError(source, f"{path}[{i}].bom-ref", None, "must be non-empty text")
                if ref in defined:
                    raise InputError(source, f"{path}[{i}].bom-ref", None,
                                     f"bom-ref {ref!r} is already used by {defined[ref]}")
                defined[ref] = f"{path}[{i}]"
            walk(c.get("components"), f"{path}[{i}].components")

    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        walk([meta["component"]], "$.metadata.component")
    walk(doc.get("components"), "$.components")
    deps = doc.get("dependencies")
    if deps is None:
        return
    if not isinstance(deps, list):
        raise InputError(source, "$.dependencies", None, "must be a list")
    for i, dep in enumerate(deps):
        path = f"$.dependencies[{i}]"
        if not isinstance(dep, dict):
            raise InputError(source, path, None, "each dependency must be an object")
        on = dep.get("dependsOn") or []
        if not isinstance(on, list):
            raise InputError(source, f"{path}.dependsOn", None, "must be a list")
        for where, ref in [(f"{path}.ref", dep.get("ref")), *((f"{path}.dependsOn[{j}]", r) for j, r in enumerate(on))]:
            if ref not in defined:
                raise InputError(source, where, None, f"{ref!r} is not the bom-ref of any component in the file")


def _check_xml_references(source: str, root: ET.Element) -> None:
    """The XML form of :func:`_check_cdx_references` (bom-ref attributes, dependency refs)."""
    defined: set[str] = set()
    ns = root.tag.split("}")[0] + "}"
    for element in root.iter(f"{ns}component"):
        ref = element.get("bom-ref")
        if ref is None:
            continue
        if ref in defined:
            raise InputError(source, f"<component bom-ref={ref!r}>", None, "this bom-ref is used twice")
        defined.add(ref)
    for dep in root.iter(f"{ns}dependency"):
        ref = dep.get("ref")
        if ref not in defined:
            raise InputError(source, f"<dependency ref={ref!r}>", None,
                             "not the bom-ref of any component in the file")


# --- SPDX ----------------------------------------------------------------------------------

_SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
_SPDX_LISTS = ("packages", "files", "snippets", "relationships", "annotations", "externalDocumentRefs",
               "hasExtractedLicensingInfos", "documentDescribes")
_SPDX_SPECIAL = {"NONE", "NOASSERTION"}


def _check_spdx(source: str, doc: dict[str, Any]) -> None:
    """Shapes the SPDX library assumes, the version, unique SPDX IDs and relationship targets."""
    version = doc.get("spdxVersion")
    if version not in _SPDX_VERSIONS:
        raise InputError(source, "$.spdxVersion", None,
                         f"{version!r} is not an SPDX version radguard reads ({', '.join(_SPDX_VERSIONS)})")
    for key in _SPDX_LISTS:
        value = doc.get(key)
        if value is not None and not isinstance(value, list):
            raise InputError(source, f"$.{key}", None, f"must be a list, not {type(value).__name__}")
    defined: dict[str, str] = {str(doc.get("SPDXID", "SPDXRef-DOCUMENT")): "$"}
    for key in ("packages", "files", "snippets"):
        for i, item in enumerate(doc.get(key) or []):
            if not isinstance(item, dict):
                raise InputError(source, f"$.{key}[{i}]", None, "must be an object")
            ident = item.get("SPDXID")
            if isinstance(ident, str) and ident in defined:
                raise InputError(source, f"$.{key}[{i}].SPDXID", None, f"{ident!r} is already used by {defined[ident]}")
            if isinstance(ident, str):
                defined[ident] = f"$.{key}[{i}]"
    for i, rel in enumerate(doc.get("relationships") or []):
        if not isinstance(rel, dict):
            raise InputError(source, f"$.relationships[{i}]", None, "must be an object")
        for field_name in ("spdxElementId", "relatedSpdxElement"):
            ref = rel.get(field_name)
            if isinstance(ref, str) and (ref in defined or ref in _SPDX_SPECIAL or ref.startswith("DocumentRef-")):
                continue
            raise InputError(source, f"$.relationships[{i}].{field_name}", None,
                             f"{ref!r} is not the SPDXID of any package, file or snippet in the document")

def _read_spdx_json(source: str, doc: dict[str, Any]) -> SbomDocument:
    from spdx_tools.spdx.model import ActorType, RelationshipType
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

    _check_spdx(source, doc)
    try:
        parsed = JsonLikeDictParser().parse(doc)
    except SPDXParsingError as exc:
        messages = [str(m)[:300] for m in exc.get_messages()[:3]]
        raise InputError(source, "$", None, "not valid SPDX: " + " | ".join(messages)) from None
    except Exception as exc:  # the library assumes shapes it does not check (AttributeError, TypeError...)
        raise InputError(source, "$", None, f"not valid SPDX ({type(exc).__name__}: {exc})") from None
    described = {r.related_spdx_element_id for r in parsed.relationships
                 if r.relationship_type == RelationshipType.DESCRIBES and r.spdx_element_id == "SPDXRef-DOCUMENT"}
    describes: dict[str, Any] | None = None
    components: list[Component] = []
    for i, pkg in enumerate(parsed.packages):
        where = f"$.packages[{i}] ({pkg.name})"

        def actor_name(actor: Any) -> str | None:
            if actor is None or not hasattr(actor, "actor_type") or actor.actor_type == ActorType.TOOL:
                return None
            return str(actor.name) if actor.name else None

        supplier = actor_name(pkg.supplier) or actor_name(pkg.originator)
        purl = cpe = None
        for ref in pkg.external_references:
            kind = ref.reference_type.lower()
            if kind == "purl" and purl is None:
                purl = _purl(source, where, ref.locator)
            elif kind in ("cpe23type", "cpe22type") and cpe is None:
                cpe = _cpe(ref.locator)
        version = pkg.version if isinstance(pkg.version, str) else None
        if pkg.spdx_id in described and describes is None:
            describes = {"name": pkg.name, "version": version, "supplier": supplier}
            continue
        components.append(_make(source, where, supplier, pkg.name, version, purl, cpe))
    info = parsed.creation_info
    return SbomDocument(
        format="SPDX", spec_version=info.spdx_version, serial=info.document_namespace,
        created=info.created.isoformat() if info.created else None, describes=describes, components=components,
    )


# --- storing -------------------------------------------------------------------------------

@dataclass
class SbomImportResult:
    asset: str
    format: str
    components: int
    created: int
    updated: int
    removed: int
    duplicates: list[dict[str, Any]]
    evidence_id: int

    def as_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "format": self.format, "components": self.components, "created": self.created,
                "updated": self.updated, "removed": self.removed, "duplicates": self.duplicates,
                "evidence_id": self.evidence_id}


def _product_key(item: SoftwareComponent | Component) -> tuple[str, str]:
    return (item.vendor.casefold(), item.product.casefold())


def import_sbom(session: Session, path: Path, asset_ref: str) -> SbomImportResult:
    """Make the asset's SBOM components exactly this document's, and keep its summary as evidence.

    A component the inventory file listed (same vendor and product, ignoring case) is taken
    over by the SBOM: its version, purl and CPE come from the SBOM from now on, and other
    versions of a product the SBOM lists are removed. Components a previous SBOM added that
    this one no longer lists are removed.
    """
    doc = read_sbom(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    asset = find_asset(session, asset_ref)
    created = updated = removed = 0
    # The asset's rows by product (vendor, product, ignoring case), so that matching stays a
    # look-up per component even for SBOMs of thousands of components.
    by_product: dict[tuple[str, str], list[SoftwareComponent]] = {}
    for existing_row in asset.components:
        by_product.setdefault(_product_key(existing_row), []).append(existing_row)
    claimed: dict[int, SoftwareComponent] = {}  # id(SBOM component) -> the row it keeps

    def claim(comp: Component, wanted: Callable[[SoftwareComponent], bool]) -> None:
        rows = by_product.get(_product_key(comp), [])
        row = next((r for r in rows if wanted(r)), None)
        if row is not None:
            rows.remove(row)
            claimed[id(comp)] = row

    # First the rows already holding this exact version, then rows of the same product that
    # the inventory file (or discovery) added, which the SBOM takes over with its version.
    for comp in doc.components:
        version = comp.version
        claim(comp, lambda r: r.version == version)  # noqa: B023 (called at once, inside the loop)
    for comp in doc.components:
        if id(comp) not in claimed:
            claim(comp, lambda r: r.source != SOURCE)
    for comp in doc.components:
        row = claimed.get(id(comp))
        if row is None:
            session.add(SoftwareComponent(asset_id=asset.id, vendor=comp.vendor, product=comp.product,
                                          version=comp.version, purl=comp.purl, cpe=comp.cpe, source=SOURCE))
            created += 1
        elif (row.version, row.purl, row.cpe, row.source) != (comp.version, comp.purl, comp.cpe, SOURCE):
            row.version, row.purl, row.cpe, row.source = comp.version, comp.purl, comp.cpe, SOURCE
            updated += 1
    # The SBOM speaks for every product it lists: other versions of those products (from the
    # inventory file or an older SBOM) go, or they would keep matching advisories the device no
    # longer has. Products it does not list stay unless a previous SBOM added them.
    listed = {_product_key(c) for c in doc.components}
    for key, rows in by_product.items():
        for row in rows:
            if row.source == SOURCE or key in listed:
                session.delete(row)
                removed += 1
    session.flush()
    received = {
        "format": doc.format, "spec_version": doc.spec_version, "serial": doc.serial, "created": doc.created,
        "describes": doc.describes, "components": len(doc.components), "skipped": doc.skipped,
        "duplicates": doc.duplicates,
        "with_purl": sum(1 for c in doc.components if c.purl), "with_cpe": sum(1 for c in doc.components if c.cpe),
    }
    evidence = next((ev for ev in session.scalars(
        select(Evidence).where(Evidence.kind == EVIDENCE_KIND, Evidence.asset_id == asset.id))
        if (ev.sent or {}).get("sha256") == sha), None)
    if evidence is None:
        evidence = Evidence(kind=EVIDENCE_KIND, asset_id=asset.id, source=path.name,
                            sent={"file": path.name, "sha256": sha}, received=received)
        session.add(evidence)
    session.flush()
    return SbomImportResult(f"{asset.site.code}/{asset.name}", doc.format, len(doc.components), created, updated,
                            removed, doc.duplicates, evidence.id)
