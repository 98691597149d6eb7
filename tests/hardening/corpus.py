"""The malformed-input corpus: for every importer, one file per class of bad input.

Each importer has a valid base document (checked to import cleanly by the suite) and a
"hole": one leaf value that value-level mutations replace with raw text (a million-deep
nesting, NaN, a 40-digit number, a 2 MB string...). Structural mutations work on the text
(duplicate keys, truncation, bad UTF-8 on line 3, NUL bytes), CSV mutations on rows, and the
meaning cases set one field of the base document to a value of the right shape but no sense.
Files are generated in the test's tmp_path; nothing here reads ../shared.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
HOLE = "__HOLE__"
ASSET = "NWH-MAIN/PACS-CORE"  # in examples/northwind-inventory.yaml, seeded before every case
DEEP = 1_000_000
LONG = 2 * 1024 * 1024  # past the 1 MiB field limit

CSV_WHERE = r"(row \d+|line \d+)"
YAML_WHERE = r"line \d+"
JSON_WHERE = r"(line \d+|\$)"
XML_WHERE = r"(line \d+|<\w+)"


@dataclass(frozen=True)
class Case:
    """One malformed input: the command to run, the file to write, where the error must point."""

    id: str
    args: tuple[str, ...]  # "{file}" stands for the written file
    filename: str | None
    content: bytes | Callable[[Path], None] | None
    where: str  # regex the message must contain (a line, row, JSON path, field or option)
    names_file: bool = True


@dataclass
class Importer:
    key: str
    args: tuple[str, ...]
    filename: str
    kind: str  # json, yaml, csv, xml, xlsx
    base: Any  # the document (json/yaml), rows (csv), bytes (xml) or builder (xlsx)
    hole: tuple[str | int, ...] = ()
    meaning: dict[str, tuple[Callable[[Any], Any], str]] = field(default_factory=dict)


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def setter(path: tuple[str | int, ...], value: Any) -> Callable[[Any], Any]:
    return lambda doc: _set(doc, path, value)


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False)


def _yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=200)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _dates(doc: Any) -> Any:
    """YAML from the examples holds dates and times; JSON-dumpable and re-dumpable as strings."""
    return json.loads(json.dumps(doc, default=lambda v: v.isoformat()))


def _example(name: str) -> Any:
    return _dates(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- the importers and their base documents ----------------------------------------------------

INVENTORY = {"version": 1, "sites": [{"code": "CORPUS", "name": "Corpus site"}],
             "assets": [{"site": "CORPUS", "name": "CT-9", "class": "modality", "buffer_hours": 12,
                         "end_of_support": "2030-01-01", "owner": "Imaging"}]}
VENDORS = {"format": "radguard-vendors", "version": 1,
           "vendors": [{"name": "Corpus Medical", "contracts": [
               {"reference": "C-1", "signed": "2024-01-01", "expires": "2027-01-01", "patch_days": 30}]}]}
BACKUP_SETS = {"backup_sets": [{"name": "corpus-nightly", "protects": ASSET, "location": "/mnt/backup",
                                "kind": "local", "schedule": "daily", "last_success": "2026-01-02T03:00:00Z"}]}
SCOPE = {"authorized_by": "Dana Whitfield, CISO", "reason": "CHG-1 corpus",
         "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
         "targets": ["127.0.0.1"], "max_level": 1}
POLICY = {"version": 1, "zones": [{"name": "imaging", "role": "modality", "ranges": ["10.1.0.0/16"]}],
          "rules": [{"from": "imaging", "to": "archive", "ports": [104], "why": "images to the PACS"}]}
SETTINGS = {"sla": {"exposed": {"critical": 14}}, "parameters": {"stale_days": 180}}
CHECKLIST = {"assessment": 1, "answers": [{"question": "GOV-01", "answer": 2, "owner": "CISO"},
                                          {"question": "GOV-04", "answer": 1}]}

INVENTORY_ROWS = [["site", "name", "class", "buffer_hours", "owner", "end_of_support", "site_name"],
                  ["CORPUS", "CT-9", "modality", "12", "Imaging", "2030-01-01", "Corpus site"],
                  ["CORPUS", "MR-9", "modality", "8", "Imaging", "2031-01-01", "Corpus site"]]
TRAINING_ROWS = [["person", "role", "course", "site", "assigned", "due", "completed"],
                 ["E001", "Technologist", "Security Basics", "NWH-MAIN", "2026-01-05", "2026-03-31", "2026-02-10"],
                 ["E002", "Technologist", "Security Basics", "NWH-MAIN", "2026-01-05", "2026-03-31", ""]]
PHISHING_ROWS = [["campaign", "date", "audience", "site", "sent", "clicked", "reported"],
                 ["Q1 lure", "2026-01-15", "Technologist", "NWH-MAIN", "40", "4", "12"],
                 ["Q1 lure", "2026-01-15", "Radiologist", "NWH-MAIN", "20", "1", "8"]]
CHECKLIST_ROWS = [["question", "answer", "owner", "notes"],
                  ["GOV-01", "2", "CISO", "reviewed"],
                  ["GOV-04", "1", "CMIO", ""]]
MDS2_ROWS = [["question_id", "answer", "notes"], ["DOC-1", "Acme Imaging", ""], ["PAUT-4", "No", "undocumented"],
             ["RMOT-1", "Yes", ""], ["STCF-1", "N/A", "no PHI stored"], ["CONN-7", "Yes", "TLS 1.2"]]

CDX_XML = (FIXTURES / "vendors" / "workstation.cdx.xml").read_bytes()


def importers() -> list[Importer]:
    """Every file importer and input path, with its base document and meaning cases."""
    kev, csaf, nvd = (_fixture("feeds/kev-subset.json"), _fixture("vendors/icsma-22-174-01.json"),
                      _fixture("feeds/nvd-dcmtk-page.json"))
    cdx, spdx = _fixture("vendors/router-appliance.cdx.json"), _fixture("vendors/ai-triage.spdx.json")
    team, services, drills = (_example("northwind-team.yaml"), _example("northwind-services.yaml"),
                              _example("northwind-drill.yaml"))
    score = ("vulnerabilities", 0, "scores", 0, "cvss_v3", "baseScore")
    nvd_score = ("vulnerabilities", 0, "cve", "metrics", "cvssMetricV31", 0, "cvssData", "baseScore")
    site_meaning = {
        "site-code-invalid": (setter(("sites", 0, "code"), "bad site/code!"), r"field 'code'"),
        "buffer-hours-negative": (setter(("assets", 0, "buffer_hours"), -5), r"buffer_hours"),
        "end-of-support-9999": (setter(("assets", 0, "end_of_support"), "9999-12-31"), r"end_of_support"),
        "end-of-support-impossible": (setter(("assets", 0, "end_of_support"), "2024-13-45"), r"end_of_support"),
        "class-unknown": (setter(("assets", 0, "class"), "toaster"), r"class"),
        "text-10mb": (setter(("assets", 0, "owner"), "x" * 10_000_001), r"(owner|\$|line \d+)"),
    }
    inv_yaml_meaning = {**site_meaning,
                        "buffer-hours-inf-text": (setter(("assets", 0, "buffer_hours"), "inf"), r"buffer_hours")}
    contract = ("vendors", 0, "contracts", 0)
    vendor_meaning = {
        "contract-expires-before-signed": (setter((*contract, "expires"), "2020-01-01"), r"contracts"),
        "contract-dated-9999": (setter((*contract, "signed"), "9999-01-01"), r"signed"),
        "patch-days-negative": (setter((*contract, "patch_days"), -1), r"patch_days"),
    }
    return [
        Importer("inventory-json", ("inventory", "import", "{file}"), "inventory.json", "json", INVENTORY,
                 ("assets", 0, "buffer_hours"), site_meaning),
        Importer("inventory-yaml", ("inventory", "import", "{file}"), "inventory.yaml", "yaml", INVENTORY,
                 ("assets", 0, "buffer_hours"), inv_yaml_meaning),
        Importer("inventory-csv", ("inventory", "import", "{file}"), "inventory.csv", "csv", INVENTORY_ROWS,
                 meaning={"buffer-hours-inf": (lambda r: _cell(r, 1, 3, "inf"), r"buffer_hours"),
                          "buffer-hours-40-digits": (lambda r: _cell(r, 1, 3, "9" * 40), r"buffer_hours"),
                          "site-code-invalid": (lambda r: _cell(r, 1, 0, "bad site/code!"), r"row 1"),
                          "end-of-support-9999": (lambda r: _cell(r, 2, 5, "9999-12-31"), r"end_of_support")}),
        Importer("vendor-yaml", ("vendor", "import", "{file}"), "vendors.yaml", "yaml", VENDORS,
                 (*contract, "patch_days"), vendor_meaning),
        Importer("vendor-json", ("vendor", "import", "{file}"), "vendors.json", "json", VENDORS,
                 (*contract, "patch_days"), vendor_meaning),
        Importer("sbom-cyclonedx-json", ("sbom", "import", "{file}", "--asset", ASSET), "router.cdx.json", "json",
                 cdx, ("components", 0, "version"), {
                     "spec-version-9.9": (setter(("specVersion",), "9.9"), r"\$\.specVersion"),
                     "duplicate-bom-ref": (lambda d: _set(d, ("components", 1, "bom-ref"),
                                                          d["components"][0]["bom-ref"]), r"bom-ref"),
                     "dependency-undefined": (setter(("dependencies",), [{"ref": "nowhere", "dependsOn": []}]),
                                              r"\$\.dependencies\[0\]"),
                     "components-object": (setter(("components",), {"a": 1}), r"\$\.components"),
                 }),
        Importer("sbom-spdx-json", ("sbom", "import", "{file}", "--asset", ASSET), "triage.spdx.json", "json",
                 spdx, ("packages", 0, "versionInfo"), {
                     "packages-object": (setter(("packages",), {"name": "x"}), r"\$\.packages"),
                     "relationship-undefined": (lambda d: _set(d, ("relationships", 0, "relatedSpdxElement"),
                                                               "SPDXRef-NOWHERE"), r"\$\.relationships\[0\]"),
                     "duplicate-spdxid": (lambda d: _set(d, ("packages", 1, "SPDXID"), d["packages"][0]["SPDXID"])
                                          if len(d["packages"]) > 1 else _set(d, ("packages",), d["packages"] * 2),
                                          r"SPDXID"),
                     "spdx-version-9": (setter(("spdxVersion",), "SPDX-9.9"), r"\$\.spdxVersion"),
                 }),
        Importer("sbom-cyclonedx-xml", ("sbom", "import", "{file}", "--asset", ASSET), "workstation.cdx.xml",
                 "xml", CDX_XML),
        Importer("feeds-kev", ("feeds", "import", "{file}"), "kev.json", "json", kev,
                 ("vulnerabilities", 0, "notes"), {
                     "cve-malformed": (setter(("vulnerabilities", 0, "cveID"), "CVE-XXXX-1"), r"cveID"),
                     "date-year-99999": (setter(("vulnerabilities", 0, "dateAdded"), "99999-01-01"), r"dateAdded"),
                     "date-9999": (setter(("vulnerabilities", 0, "dueDate"), "9999-12-31"), r"dueDate"),
                 }),
        Importer("feeds-csaf", ("feeds", "import", "{file}"), "icsma.json", "json", csaf,
                 ("document", "title"), {
                     "cvss-negative": (setter(score, -7.5), r"baseScore"),
                     "cvss-99": (setter(score, 99), r"baseScore"),
                     "cvss-text": (setter(score, "high"), r"baseScore"),
                     "cve-malformed": (setter(("vulnerabilities", 0, "cve"), "CVE-XXXX-1"), r"\.cve"),
                 }),
        Importer("feeds-nvd", ("feeds", "import", "{file}"), "nvd.json", "json", nvd,
                 ("vulnerabilities", 0, "cve", "sourceIdentifier"), {
                     "cve-malformed": (setter(("vulnerabilities", 0, "cve", "id"), "CVE-XXXX-1"), r"\.id"),
                     "cvss-99": (setter(nvd_score, 99), r"baseScore"),
                     "cvss-text": (setter(nvd_score, "high"), r"baseScore"),
                     "published-9999": (setter(("vulnerabilities", 0, "cve", "published"), "9999-01-01T00:00:00"),
                                        r"published"),
                 }),
        Importer("training-csv", ("training", "import", "{file}"), "lms.csv", "csv", TRAINING_ROWS, meaning={
            "date-9999": (lambda r: _cell(r, 1, 5, "9999-12-31"), r"line 2"),
            "completed-before-assigned": (lambda r: _cell(r, 1, 6, "2025-01-01"), r"line 2"),
        }),
        Importer("phishing-csv", ("phishing", "import", "{file}"), "phish.csv", "csv", PHISHING_ROWS, meaning={
            "count-negative": (lambda r: _cell(r, 1, 4, "-40"), r"line 2"),
            "count-40-digits": (lambda r: _cell(r, 1, 4, "9" * 40), r"line 2"),
            "clicked-over-sent": (lambda r: _cell(r, 1, 5, "400"), r"line 2"),
        }),
        Importer("checklist-csv", ("checklist", "import", "{file}"), "answers.csv", "csv", CHECKLIST_ROWS, meaning={
            "answer-out-of-range": (lambda r: _cell(r, 1, 1, "9"), r"line 2"),
            "question-unknown": (lambda r: _cell(r, 2, 0, "NOPE-99"), r"line 3"),
        }),
        Importer("checklist-yaml", ("checklist", "import", "{file}"), "answers.yaml", "yaml", CHECKLIST,
                 ("answers", 0, "owner"), {
                     "answer-out-of-range": (setter(("answers", 0, "answer"), 9), r"line \d+"),
                 }),
        Importer("team-yaml", ("team", "import", "{file}"), "team.yaml", "yaml", team, ("roles", 0, "primary"), {
            "role-unknown-field": (setter(("roles", 0, "primry"), "x"), r"primry"),
        }),
        Importer("services-yaml", ("services", "import", "{file}"), "services.yaml", "yaml", services,
                 ("services", 0, "rto_hours"), {
                     "rto-inf-text": (setter(("services", 0, "rto_hours"), "inf"), r"rto_hours"),
                     "rto-negative": (setter(("services", 0, "rto_hours"), -5), r"rto_hours"),
                 }),
        Importer("drills-yaml", ("drill", "import", "{file}"), "drills.yaml", "yaml", drills,
                 ("drills", 0, "title"), {
                     "date-9999": (setter(("drills", 0, "date"), "9999-12-31"), r"date"),
                     "ends-before-start": (setter(("drills", 0, "ended_at"), "2026-03-18T07:00:00-04:00"),
                                           r"ended_at"),
                 }),
        Importer("backup-sets-yaml", ("backup", "set", "import", "{file}"), "sets.yaml", "yaml", BACKUP_SETS,
                 ("backup_sets", 0, "location"), {
                     "kind-unknown": (setter(("backup_sets", 0, "kind"), "floppy"), r"kind"),
                     "last-success-9999": (setter(("backup_sets", 0, "last_success"), "9999-12-31T00:00:00Z"),
                                           r"last_success"),
                 }),
        Importer("backup-sets-json", ("backup", "set", "import", "{file}"), "sets.json", "json", BACKUP_SETS,
                 ("backup_sets", 0, "location")),
        Importer("discover-scope", ("discover", "--scope", "{file}", "--level", "1", "127.0.0.1"), "scope.yaml",
                 "yaml", SCOPE, ("max_level",), {
                     "window-ends-before-start": (setter(("window", "end"), "2025-01-01T00:00:00Z"), r"window"),
                     "max-level-9": (setter(("max_level",), 9), r"max_level"),
                 }),
        Importer("segmentation-policy", ("segmentation", "set-policy", "{file}"), "policy.yaml", "yaml", POLICY,
                 ("rules", 0, "why"), {
                     "port-true": (setter(("rules", 0, "ports"), [True]), r"line 11, field 'rules\.0\.ports\.0'"),
                     "port-string": (setter(("rules", 0, "ports"), ["104"]), r"field 'rules\.0\.ports\.0'"),
                     "port-70000": (setter(("rules", 0, "ports"), [70000]), r"rules\.0.*65535"),
                     "zone-unknown": (setter(("rules", 0, "from"), "nozone"), r"rules\.0\.from"),
                     "range-host-bits": (setter(("zones", 0, "ranges"), ["10.1.0.1/16"]),
                                         r"line 6, field 'zones\.0\.ranges\.0': Input is not a valid"),
                     "role-unknown": (setter(("zones", 0, "role"), "robot"), r"zones\.0\.role"),
                     "rules-6000": (setter(("rules",), [copy.deepcopy(POLICY["rules"][0]) for _ in range(6000)]),
                                    r"line \d+:.*256 KiB"),
                 }),
        Importer("assess-settings", ("assess", "--settings", "{file}"), "settings.yaml", "yaml", SETTINGS,
                 ("parameters", "stale_days"), {
                     "stale-days-negative": (setter(("parameters", "stale_days"), -180), r"stale_days"),
                     "parameter-misspelt": (setter(("parameters", "stale_dyas"), 10), r"stale_dyas"),
                     "parameter-type": (setter(("parameters", "stale_days"), "soon"), r"stale_days"),
                     "sla-days-huge": (setter(("sla", "exposed", "critical"), 10**12), r"critical"),
                 }),
        Importer("mds2-csv", ("mds2", "import", "{file}", "--asset", ASSET), "mds2.csv", "csv", MDS2_ROWS, meaning={
            "excel-error-cell": (lambda r: _cell(r, 2, 1, "#VALUE!"), r"line 3"),
            "release-date-impossible": (lambda r: [*r, ["DOC-7", "2024-13-45", ""]], r"line 7"),
            "extra-cell": (lambda r: [r[0], *r[1:3], [*r[3], "stray"], *r[4:]], r"line 4"),
        }),
    ]


def _cell(rows: list[list[str]], row: int, col: int, value: str) -> list[list[str]]:
    out = [list(r) for r in rows]
    out[row][col] = value
    return out


# --- mutation classes ----------------------------------------------------------------------------

def _line3_bad_utf8(text: str) -> bytes:
    lines = text.encode("utf-8").split(b"\n")
    assert len(lines) > 3, "the base document needs four lines"
    lines[2] = lines[2][:1] + b"\xff\xfe" + lines[2][1:]
    return b"\n".join(lines)


def _nul(text: str) -> bytes:
    lines = text.split("\n")
    lines[1] = lines[1] + "\x00"
    return "\n".join(lines).encode("utf-8")


def _json_values(imp: Importer) -> dict[str, tuple[str, str]]:
    template = _json(_set(imp.base, imp.hole, HOLE)) if imp.hole else _json(imp.base)
    values = {"deep-nesting": "[" * DEEP + "]" * DEEP, "nan": "NaN", "infinity": "Infinity",
              "minus-infinity": "-Infinity", "number-40-digits": "1" + "2" * 39, "float-overflow": "1e999",
              "string-2mb": json.dumps("x" * LONG), "nul-escape": '"a\\u0000b"'}
    return {k: (template.replace(json.dumps(HOLE), v, 1), JSON_WHERE) for k, v in values.items()}


def _yaml_values(imp: Importer) -> dict[str, tuple[str, str]]:
    template = _yaml(_set(imp.base, imp.hole, HOLE))
    values = {"deep-nesting": "[" * DEEP + "]" * DEEP, "nan": ".nan", "infinity": ".inf",
              "number-40-digits": "1" + "2" * 39, "string-2mb": "x" * LONG, "nul-escape": '"a\\0b"'}
    return {k: (template.replace(HOLE, v, 1), YAML_WHERE) for k, v in values.items()}


def _laughs() -> str:
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def cases() -> list[Case]:
    """The whole corpus, in a stable order."""
    out: list[Case] = []
    for imp in importers():
        def add(name: str, content: bytes | str | Callable[[Path], None], where: str,
                imp: Importer = imp) -> None:
            data = content.encode("utf-8") if isinstance(content, str) else content
            out.append(Case(f"{imp.key}/{name}", imp.args, imp.filename, data, where))

        add("empty-file", b"", r"empty")
        if imp.key == "assess-settings":
            add("comments-only", "# stale_days: 90\n", r"comments")
        if imp.kind == "json":
            text = _json(imp.base)
            for name, (content, where) in _json_values(imp).items():
                add(name, content, where)
            add("duplicate-key", text.replace("{", '{"version": 1, "version": 1,', 1), JSON_WHERE)
            add("duplicate-key-nested", text.replace("{", '{"x": {"a": 1,\n "a": 2},', 1), JSON_WHERE)
            add("truncated-60pc", text[: int(len(text) * 0.6)], JSON_WHERE)
            add("top-level-array", "[\n" + text + "\n]", JSON_WHERE)
            add("bad-utf8-line3", _line3_bad_utf8(text), r"line 3")
            add("nul-byte", _nul(text), r"line 2")
            add("utf16-damaged", b"\xff\xfe" + text.encode("utf-16-le")[:-1] + b"{", r"")
            meaning_dump: Callable[[Any], str] = _json
        elif imp.kind == "yaml":
            text = _yaml(imp.base)
            for name, (content, where) in _yaml_values(imp).items():
                add(name, content, where)
            first = text.split("\n", 1)[0]
            add("duplicate-key", first + "\n" + text, YAML_WHERE)
            add("unclosed-flow", text + "broken: [unclosed\n", YAML_WHERE)
            add("two-documents", text + "---\n" + text, YAML_WHERE)
            add("billion-laughs", text + _laughs(), YAML_WHERE)
            add("bad-utf8-line3", _line3_bad_utf8(text), r"line 3")
            add("nul-byte", _nul(text), r"line 2")
            add("tab-indent", text.replace("\n  ", "\n\t", 1), YAML_WHERE)
            meaning_dump = _yaml
        elif imp.kind == "csv":
            rows = imp.base
            text = _csv(rows)
            add("short-last-row", text.rstrip("\n").rsplit(",", 1)[0] + "\n", CSV_WHERE)
            add("long-row", _csv([rows[0], [*rows[1], "extra"], *rows[2:]]), CSV_WHERE)
            add("duplicate-header", _csv([[*rows[0], rows[0][0].upper()], *[[*r, "x"] for r in rows[1:]]]),
                CSV_WHERE)
            add("unterminated-quote", text + '"' + rows[1][0] + ',never closed\n' + _csv(rows[1:]), CSV_WHERE)
            add("cell-2mb", _csv([rows[0], [rows[1][0], "x" * LONG, *rows[1][2:]], *rows[2:]]), CSV_WHERE)
            add("bad-utf8-line3", _line3_bad_utf8(text + _csv(rows[1:])), r"line 3")
            add("nul-byte", _nul(text), r"line 2")
            meaning_dump = _csv
        elif imp.kind == "xml":
            xml = imp.base.decode("utf-8")
            entity = '<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            add("doctype-entity", xml.replace("<bom", entity + "<bom", 1), r"")
            add("truncated-60pc", xml[: int(len(xml) * 0.6)], XML_WHERE)
            add("namespace-9.9", xml.replace("bom/1.4", "bom/9.9"), XML_WHERE)
            add("duplicate-bom-ref", xml.replace('bom-ref="libpng"', 'bom-ref="dcmtk"'), XML_WHERE)
            add("dependency-undefined", xml.replace("</components>", "</components>\n<dependencies>"
                                                    '<dependency ref="nowhere"/></dependencies>'), XML_WHERE)
            add("bad-utf8-line3", _line3_bad_utf8(xml), r"line 3")
            add("nul-byte", _nul(xml), r"line 2")
            continue
        for name, (change, where) in imp.meaning.items():
            add(f"meaning/{name}", meaning_dump(change(imp.base)), where)
    out.extend(xlsx_cases())
    out.extend(argument_cases())
    return out


# --- MDS2 workbooks --------------------------------------------------------------------------------

MDS2_ARGS = ("mds2", "import", "{file}", "--asset", ASSET)


def _patch_zip(src: Path, dest: Path, member: str, change: Callable[[bytes], bytes]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, change(data) if info.filename == member else data)


def _workbook(path: Path, **answers: Any) -> None:
    from tests.vendors.mds2_forms import build_workbook

    build_workbook(path, answers)


def _sheet_member(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return next(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))


def _xlsx(change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base = path.with_name("base.xlsx")
        _workbook(base)
        _patch_zip(base, path, _sheet_member(base), change)
    return build


def _bomb(path: Path) -> None:
    base = path.with_name("base.xlsx")
    _workbook(base)
    filler = b"<!--" + b" " * (100 * 1024 * 1024) + b"-->"  # 100 MiB that deflates to about 100 KB
    _patch_zip(base, path, _sheet_member(base), lambda data: data.replace(b"<sheetData>", filler + b"<sheetData>", 1))


def _rows(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("MDS2")
    for i in range(12_000):
        ws.append([f"DOC-{i % 9 + 1}", "Yes"])
    wb.save(path)


def xlsx_cases() -> list[Case]:
    entity = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    return [
        Case("mds2-xlsx/zip-bomb", MDS2_ARGS, "bomb.xlsx", _bomb, r"(field 'xl/|inflates)"),
        Case("mds2-xlsx/corrupt-sheet-xml", MDS2_ARGS, "corrupt.xlsx",
             _xlsx(lambda d: d[: len(d) // 2]), r"(sheet '|workbook)"),
        Case("mds2-xlsx/external-entity", MDS2_ARGS, "entity.xlsx",
             _xlsx(lambda d: d.replace(b"<worksheet", entity + b"<worksheet", 1)), r"field 'xl/"),
        Case("mds2-xlsx/excel-error-cell", MDS2_ARGS, "error.xlsx",
             lambda p: _workbook(p, **{"PAUT-4": "#VALUE!"}), r"cell [A-Z]+\d+"),
        Case("mds2-xlsx/release-date-impossible", MDS2_ARGS, "date.xlsx",
             lambda p: _workbook(p, **{"DOC-7": "2024-13-45"}), r"cell [A-Z]+\d+"),
        Case("mds2-xlsx/too-many-rows", MDS2_ARGS, "rows.xlsx", _rows, r"sheet '"),
        Case("mds2-xlsx/not-a-zip", MDS2_ARGS, "fake.xlsx", b"PK\x03\x04 this is not a zip file at all", r""),
    ]


# --- command-line values (no file) ---------------------------------------------------------------

def argument_cases() -> list[Case]:
    record = ("attest", "record")
    return [
        Case("attest/unknown-subject", (*record, "encrypted_at_rst", "yes", "--asset", ASSET, "--by", "PACS admin"),
             None, None, r"field 'subject'", names_file=False),
        Case("attest/expires-9999", (*record, "encrypted_at_rest", "yes", "--asset", ASSET, "--by", "PACS admin",
                                     "--expires", "9999-12-31"), None, None, r"--expires", names_file=False),
        Case("attest/dated-future", (*record, "encrypted_at_rest", "yes", "--asset", ASSET, "--by", "PACS admin",
                                     "--at", "2099-01-01"), None, None, r"field 'at'", names_file=False),
        Case("attest/text-10mb", (*record, "encrypted_at_rest", "yes", "--asset", ASSET, "--by", "PACS admin",
                                  "--notes", "x" * 10_000_001), None, None, r"field 'notes'", names_file=False),
        Case("discover/site-code-invalid", ("discover", "--site", "bad site/code!", "127.0.0.1"), None, None,
             r"--site", names_file=False),
        Case("backup-verify/rto-negative", ("backup", "verify", "{dir}", "--against", "{dir}", "--rto", "-5"),
             None, None, r"--rto", names_file=False),
        Case("backup-verify/rto-nan", ("backup", "verify", "{dir}", "--against", "{dir}", "--rto", "nan"),
             None, None, r"--rto", names_file=False),
        Case("backup-verify/rpo-inf", ("backup", "verify", "{dir}", "--against", "{dir}", "--rpo", "inf"),
             None, None, r"--rpo", names_file=False),
    ]
