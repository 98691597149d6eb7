"""Framework mappings of the shipped content: every check and question is placed in HICP, every
cited ID exists, and the mappings corrected against the publications stay corrected."""

from __future__ import annotations

from pathlib import Path

import pytest

from radguard.checks.loader import CatalogError, load_catalog, read_specs
from radguard.checks.registry import CheckContext, Observation
from radguard.errors import ConfigError
from radguard.frameworks import validate_refs
from radguard.readiness.checklists.loader import CATALOG_DIR as CHECKLIST_DIR
from radguard.readiness.checklists.loader import load_catalog as load_checklist
from radguard.readiness.checklists.loader import load_catalog_from

FIELDS = ("csf2", "hicp", "hph_cpg", "hipaa")
SIZE_OF = {"S": "small", "M": "medium", "L": "large"}


def _checks() -> dict[str, dict[str, list[str]]]:
    return {spec.id: spec.frameworks.model_dump() for spec, _path in read_specs()}


def _questions() -> dict[str, dict[str, list[str]]]:
    return {q.id: q.frameworks.model_dump() for q in load_checklist().questions}


def test_every_check_and_question_cites_an_existing_hicp_practice() -> None:
    content = {**{f"check {k}": v for k, v in _checks().items()},
               **{f"question {k}": v for k, v in _questions().items()}}
    assert len(content) > 130
    uncited = [name for name, refs in content.items() if not refs["hicp"]]
    assert uncited == [], f"cite at least one HICP sub-practice: {uncited}"
    unknown = [f"{name}: {key} {ref}" for name, refs in content.items() for key in FIELDS
               for ref in validate_refs(key, refs[key])]
    assert unknown == []


def test_question_hicp_practices_fit_the_sizes_the_question_is_asked_of() -> None:
    """A small-practice sub-practice (n.S.x) on a question never asked of small organizations
    (or n.L.x on one not asked of large ones) would report coverage nobody can earn."""
    wrong = []
    for q in load_checklist().questions:
        for ref in q.frameworks.hicp:
            size = SIZE_OF[ref.split(".")[1]]
            if size not in q.sizes and not (size == "medium" and "large" in q.sizes):
                wrong.append(f"{q.id} {ref} (asked of {q.sizes})")
    assert wrong == []


@pytest.mark.parametrize(("check_id", "field", "present", "absent"), [
    # 1.M.B is MFA for remote *e-mail* access; remote access to imaging systems is 3.M.D, and
    # MFA for vendor remote access to medical devices is 9.M.C.
    ("RG-REMOTE-NO-MFA", "hicp", {"3.M.D", "9.M.C"}, {"1.M.B"}),
    # An anonymous query is missing authentication and authorization, not encryption (4.M.C).
    ("RG-DICOM-ANON-QUERY", "hicp", {"9.M.C", "3.M.C"}, {"4.M.C"}),
    # X5 is "cybersecurity mitigation"; backups belong to incident planning (E7), as in the
    # backup checks.
    ("RG-CLOUD-NO-IMMUTABLE-COPY", "hph_cpg", {"E7"}, {"X5"}),
    ("RG-CLOUD-NO-IMMUTABLE-COPY", "hicp", {"4.M.D"}, set()),
])
def test_corrected_check_mappings(check_id: str, field: str, present: set[str], absent: set[str]) -> None:
    cited = set(_checks()[check_id][field])
    assert present <= cited and not cited & absent, (check_id, field, sorted(cited))


def test_backup_checks_agree_on_the_hph_goal() -> None:
    checks = _checks()
    goals = {cid: checks[cid]["hph_cpg"] for cid in ("RG-BACKUP-NOT-IMMUTABLE", "RG-BACKUP-321",
                                                      "RG-CLOUD-NO-IMMUTABLE-COPY")}
    assert all("E7" in g for g in goals.values()), goals


def test_environmental_and_billing_questions_are_mapped() -> None:
    q = _questions()
    assert "PR.IR-02" in q["PHY-05"]["csf2"] and "164.308(a)(7)" in q["PHY-05"]["hipaa"]
    assert {"PR.IR-02", "PR.IR-03"} <= set(q["PHY-06"]["csf2"])
    assert "164.308(a)(7)(ii)(C)" in q["PHY-06"]["hipaa"]
    assert "RC.CO-03" in q["REC-06"]["csf2"] and "8.M.B" in q["REC-06"]["hicp"]
    texts = {x.id: x.text.lower() + " " + x.guidance.lower() for x in load_checklist().questions}
    assert "fire" in texts["PHY-05"] and "ups" in texts["PHY-06"]
    assert "payers" in texts["REC-06"] and "billing" in texts["REC-06"]


def _nothing(ctx: CheckContext) -> list[Observation]:
    return []


CHECK = """checks:
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


@pytest.mark.parametrize(("text", "message"), [
    (CHECK.replace(", hicp: [4.M.C]", ""), r"area.yaml, check RG-TEST-ONE: field 'frameworks.hicp'"),
    (CHECK.replace("4.M.C", "4.M.F"), r"area.yaml, check RG-TEST-ONE: field 'frameworks.hicp': '4.M.F' is not in"),
    (CHECK.replace("PR.DS-02", "PR.DS-03"), r"field 'frameworks.csf2': 'PR.DS-03' is not in radguard's csf2"),
])
def test_check_loader_refuses_missing_or_unknown_framework_ids(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "area.yaml").write_text(text)
    with pytest.raises(CatalogError, match=message):
        load_catalog(tmp_path, {"RG-TEST-ONE": _nothing})


@pytest.mark.parametrize(("old", "new", "message"), [
    (", hicp: [6.M.E, 6.S.B]", "", r"question PHY-05, field 'frameworks.hicp'"),
    ("hicp: [6.M.E, 6.S.B]", "hicp: [6.M.E, 6.S.D]", r"question PHY-05, field 'frameworks'.*'6.S.D' is not in"),
])
def test_checklist_loader_refuses_missing_or_unknown_hicp(tmp_path: Path, old: str, new: str, message: str) -> None:
    for name in ("domains.yaml", "profiles.yaml"):
        (tmp_path / name).write_text((CHECKLIST_DIR / name).read_text())
    text = (CHECKLIST_DIR / "questions.yaml").read_text()
    assert text.count(old) == 2  # PHY-05 and PHY-06 cite the same pair; change PHY-05 only
    (tmp_path / "questions.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_catalog_from(tmp_path)
