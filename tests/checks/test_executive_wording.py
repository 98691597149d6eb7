"""Executive wording: every check has it, the vocabulary is checked, and the loader enforces both."""

from __future__ import annotations

from pathlib import Path

import pytest

from radguard.checks.executive import (
    ExecutiveWordingError,
    load_wording,
    plain_action,
    vocabulary_problems,
)
from radguard.checks.loader import CatalogError, load_catalog, read_specs
from tests.checks.test_loader import GOOD, _nothing, _write


def test_every_packaged_check_has_plain_wording() -> None:
    wording = load_wording()
    ids = [spec.id for spec, _ in read_specs()]
    assert ids and set(ids) == set(wording)
    for cid, w in wording.items():
        for text in (w.title, w.consequence, w.action):
            assert vocabulary_problems(text) == [], cid
            assert cid not in text


@pytest.mark.parametrize("text", [
    "record remote_access_mfa=true on the asset", "mark the set --immutable", "Orthanc DicomAlwaysAllowFind false",
    "probe.endpoint: 35", "all 2 site(s)", "10 open finding(s)", "fix RG-DICOM-ANON-QUERY first", "−815.0 risk",
    "ai_application", "backup_set:7", "enabled: False", "cves: ['CVE-2025-0896']", "tags []", "run `radguard assess`",
])
def test_banned_vocabulary_is_found(text: str) -> None:
    assert vocabulary_problems(text), text


@pytest.mark.parametrize("text", [
    "Patch or isolate the affected systems now, ahead of all other work.",
    "17 of 20 instances restorable — 1 missing, 1 altered, 1 corrupt: restore incomplete",
    "Worms such as WannaCry and NotPetya, e.g. on old Windows.", "0-30 days", "< 0.1 h",
])
def test_plain_words_pass(text: str) -> None:
    assert vocabulary_problems(text) == []


def test_missing_wording_fails_naming_the_check(tmp_path: Path) -> None:
    catalog, wording = tmp_path / "catalog", tmp_path / "executive.yaml"
    catalog.mkdir()
    _write(catalog, GOOD)
    wording.write_text("RG-OTHER:\n  title: Something else\n  consequence: Other things\n  action: Do other things\n")
    with pytest.raises(CatalogError, match=r"no executive wording for check RG-TEST-ONE \(area.yaml\)"):
        load_catalog(catalog, {"RG-TEST-ONE": _nothing}, executive=wording)
    wording.write_text("RG-TEST-ONE:\n  title: A test problem\n  consequence: Bad things happen\n"
                       "  action: Make it better\n")
    load_wording.cache_clear()
    assert list(load_catalog(catalog, {"RG-TEST-ONE": _nothing}, executive=wording).entries) == ["RG-TEST-ONE"]


@pytest.mark.parametrize(("entry", "message"), [
    ("  title: Turn it on\n  consequence: Bad things\n  action: record remote_access_mfa=true\n",
     r"check RG-TEST-ONE: field 'action' uses technical vocabulary"),
    ("  title: Turn it on\n  consequence: Bad things\n", r"check RG-TEST-ONE: field 'action' is missing"),
    ("  title: Turn it on\n  consequence: Bad things\n  action: Do it\n  extra: x\n", r"unknown field extra"),
])
def test_bad_wording_is_refused_naming_check_and_field(tmp_path: Path, entry: str, message: str) -> None:
    wording = tmp_path / "executive.yaml"
    wording.write_text("RG-TEST-ONE:\n" + entry)
    load_wording.cache_clear()
    with pytest.raises(ExecutiveWordingError, match=message):
        load_wording(wording)


def test_plain_action_uses_the_wording_for_checks_and_keeps_checklist_text() -> None:
    check = plain_action({"id": "RG-DICOM-ANON-QUERY", "kind": "finding", "title": "DICOM service answers",
                          "what": "Set DicomAlwaysAllowFind to false"})
    assert check["title"] == load_wording()["RG-DICOM-ANON-QUERY"].title
    assert "DicomAlwaysAllowFind" not in check["what"]
    question = plain_action({"id": "GV-1", "kind": "checklist", "title": "Is there a policy?", "what": "Write one"})
    assert question == {"title": "Is there a policy?", "consequence": "", "what": "Write one"}
