"""The packaged checklist catalog: size, coverage, valid framework IDs, linked checks, strict loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from radguard.checks.loader import read_specs
from radguard.errors import ConfigError
from radguard.frameworks.loader import validate_refs
from radguard.readiness.checklists.loader import CATALOG_DIR, load_catalog, load_catalog_from
from radguard.readiness.checklists.models import SIZES

DOMAINS = {
    "governance", "inventory", "vendor", "access", "network", "data_protection", "backup", "vulnerability",
    "detection", "incident_response", "recovery", "workforce", "ai_cloud", "physical", "compliance",
}
# Checks announced by stages still being built (issues 4, 7, 11); the lead empties this when they land.


def test_catalog_has_enough_questions_in_every_domain_and_size() -> None:
    catalog = load_catalog()
    assert len(catalog.questions) >= 60
    assert {d.key for d in catalog.domains} == DOMAINS
    for size in SIZES:
        covered = {q.domain for q in catalog.questions_for(size)}
        assert covered == DOMAINS, f"{size}: no question in {DOMAINS - covered}"
    assert len(catalog.questions_for("small")) < len(catalog.questions_for("medium")) <= len(catalog.questions)


def test_framework_ids_exist_in_the_framework_catalogs() -> None:
    catalog = load_catalog()
    for key in ("csf2", "hicp", "hph_cpg", "hipaa"):
        ids = sorted({ref for q in catalog.questions for ref in getattr(q.frameworks, key)})
        assert ids, key
        assert validate_refs(key, ids) == [], key


def test_linked_checks_exist_in_the_check_catalog() -> None:
    known = {spec.id for spec, _ in read_specs()}
    linked = {c for q in load_catalog().questions for c in q.checks}
    assert "RG-DICOM-ANY-CALLING-AE" in linked and "RG-TRAINING-OVERDUE" in linked
    assert linked <= known, f"questions link to checks that do not exist: {sorted(linked - known)}"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    return target


def _edit_questions(directory: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = directory / "questions.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["questions"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda qs: qs.append(dict(qs[0])), "question ID GOV-01 is used twice"),
        (lambda qs: qs[1].update(domain="astrology"), "unknown domain 'astrology'"),
        (lambda qs: qs[2].update(frameworks={"csf2": ["PR.AC-1"], "hicp": ["10.M.A"]}),
         "question GOV-03, field 'frameworks'"),
        (lambda qs: qs[3].update(sizes=["tiny"]), "question GOV-04, field 'sizes.0'"),
        (lambda qs: qs[4].update(checks=["dicom-open"]), "not in the RG-"),
    ],
)
def test_invalid_catalog_is_refused_with_the_question_named(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    directory = _copy(tmp_path)
    _edit_questions(directory, change)
    with pytest.raises(ConfigError) as err:
        load_catalog_from(directory)
    assert message in str(err.value)


def test_profile_must_name_every_domain(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    profiles = yaml.safe_load((directory / "profiles.yaml").read_text())
    del profiles[0]["targets"]["physical"]
    (directory / "profiles.yaml").write_text(yaml.safe_dump(profiles))
    with pytest.raises(ConfigError, match=r"profile small: .*missing \['physical'\]"):
        load_catalog_from(directory)
