"""The catalog loader: the packaged catalog is complete and valid; broken files are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from radguard.checks.loader import CATALOG_DIR, CatalogError, load_catalog, read_specs
from radguard.checks.registry import CheckContext, Observation
from radguard.inventory.vocab import AssetClass
from tests.checks.conftest import OWN_FILES

REQUIRED = ["RG-DICOM-ANY-CALLING-AE", "RG-DICOM-ANY-CALLED-AE", "RG-DICOM-ANON-QUERY", "RG-DICOM-NO-TLS",
            "RG-TLS-WEAK", "RG-WEB-NO-AUTH", "RG-HL7-CLEARTEXT", "RG-OS-UNSUPPORTED", "RG-EOS-NEAR",
            "RG-REMOTE-ALWAYS-ON", "RG-REMOTE-NO-MFA", "RG-NOT-SEGMENTED", "RG-PHI-UNENCRYPTED-AT-REST",
            "RG-AI-NO-BAA", "RG-BUFFER-UNKNOWN", "RG-ASSET-STALE"]
FRAMEWORKS_DIR = CATALOG_DIR.parent.parent / "frameworks" / "catalog"


def _nothing(ctx: CheckContext) -> list[Observation]:
    return []


def test_packaged_catalog_loads_with_an_evaluator_for_every_check() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 40
    assert set(REQUIRED) <= set(catalog.entries)
    covered = {scope for entry in catalog for scope in entry.spec.scope}
    assert {c.value for c in AssetClass} <= covered, "every asset class has at least one check"


def test_own_catalog_files_have_full_metadata() -> None:
    ids: list[str] = []
    for spec, path in read_specs():
        if path.name not in OWN_FILES:
            continue
        ids.append(spec.id)
        refs = spec.frameworks
        assert refs.csf2 and refs.hicp and refs.hph_cpg and refs.hipaa, spec.id
        assert spec.references and spec.remediation and spec.rationale, spec.id
    assert len(ids) >= 29 and set(REQUIRED) <= set(ids)


def _framework_ids(name: str) -> set[str]:
    doc = yaml.safe_load((FRAMEWORKS_DIR / f"{name}.yaml").read_text())
    return {str(r["id"]) for r in doc.get("requirements", [])}


@pytest.mark.parametrize("framework", ["csf2", "hicp", "hph_cpg"])
def test_framework_ids_exist_in_the_framework_catalogs(framework: str) -> None:
    known = _framework_ids(framework)
    assert known, f"framework catalog {framework} is empty"
    for spec, path in read_specs():
        if path.name in OWN_FILES:
            unknown = set(getattr(spec.frameworks, framework)) - known
            assert not unknown, f"{path.name} {spec.id}: {sorted(unknown)}"


def _write(directory: Path, text: str) -> Path:
    path = directory / "area.yaml"
    path.write_text(text)
    return path


GOOD = """checks:
- id: RG-TEST-ONE
  title: A test check
  description: d
  rationale: r
  scope: [pacs]
  severity: low
  safeguard_type: technical
  defense_layer: monitoring
  evidence_kind: [inventory]
  remediation: fix it
  frameworks: {csf2: [PR.DS-02], hicp: [4.M.C]}
"""


def test_valid_directory_loads(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    catalog = load_catalog(tmp_path, {"RG-TEST-ONE": _nothing})
    assert list(catalog.entries) == ["RG-TEST-ONE"]


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("severity: low", "severity: awful"), r"area.yaml, check RG-TEST-ONE: field 'severity'"),
    (GOOD.replace("PR.DS-02", "PR.DS-2"), r"area.yaml, check RG-TEST-ONE: field 'frameworks.csf2': 'PR.DS-2'"),
    (GOOD.replace("  title: A test check\n", ""), r"area.yaml, check RG-TEST-ONE: field 'title'"),
    ("checks: [1, 2", r"area.yaml, line \d+: not valid YAML"),
    (GOOD + GOOD.replace("checks:\n", ""), r"area.yaml, check RG-TEST-ONE: the ID is already used"),
])
def test_invalid_entries_name_file_and_check(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(CatalogError, match=message):
        load_catalog(tmp_path, {"RG-TEST-ONE": _nothing})


def test_missing_and_orphan_evaluators(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    with pytest.raises(CatalogError, match=r"area.yaml, check RG-TEST-ONE: no evaluator"):
        load_catalog(tmp_path, {})
    with pytest.raises(CatalogError, match=r"evaluators without a catalog entry: RG-TEST-TWO"):
        load_catalog(tmp_path, {"RG-TEST-ONE": _nothing, "RG-TEST-TWO": _nothing})
