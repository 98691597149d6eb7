"""The playbook catalog: required scenarios, valid roles and targets, strict loading, commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radguard.errors import InputError, NotFoundError
from radguard.response.playbooks import MILESTONES, get_playbook, load_catalog
from radguard.response.playbooks.roles import STANDARD_ROLES

REQUIRED = {"ransomware-pacs", "compromised-modality", "vendor-outage", "reporting-outage", "network-isolation",
            "image-exfiltration"}


def test_catalog_covers_the_imaging_scenarios() -> None:
    catalog = load_catalog()
    assert {pb.id for pb in catalog} == REQUIRED
    for pb in catalog:
        assert {s.phase for s in pb.steps} & {"contain", "continue"}, pb.id
        assert all(s.role in STANDARD_ROLES for s in pb.steps)
        assert pb.decisions, f"{pb.id} has no decision point"
        timed = [s.within_minutes for s in pb.steps if s.within_minutes]
        assert timed, f"{pb.id} has no time targets"
        targets = [pb.targets[m] for m in MILESTONES if m in pb.targets]
        assert targets == sorted(targets), pb.id
    ransomware = get_playbook("ransomware-pacs")
    questions = " ".join(d.question for d in ransomware.decisions)
    assert "Divert" in questions and "Stop a modality" in questions
    assert any(n.role == "privacy_legal" and "60 days" in n.deadline for n in ransomware.notifications)


def _catalog(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pb.yaml"
    path.write_text("format: radguard-playbooks\nversion: 1\nplaybooks:\n" + body)
    return path


BASE = ("- id: p1\n  title: Test\n  summary: s\n  triggers: [t]\n"
        "  steps:\n  - {phase: detect, role: it_security, action: Do something useful}\n")


@pytest.mark.parametrize(("extra", "problem"), [
    ("  targets: {declared: 30, escalated: 20}\n", "targets must not decrease"),
    ("  targets: {lunch: 30}\n", "unknown milestone 'lunch'"),
    ("  decisions:\n  - {question: q, role: janitor, guidance: g}\n", "role 'janitor' is not a response-team role"),
    ("  applies_to: [toaster]\n", "'toaster' is not allowed"),
])
def test_invalid_playbooks_are_refused(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(InputError) as err:
        load_catalog(_catalog(tmp_path, BASE + extra))
    assert problem in str(err.value) and "playbooks[0]" in str(err.value) and "line " in str(err.value)


def test_duplicate_ids_and_unknown_playbook(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"field 'playbooks\[1\]\.id': playbook 'p1' is defined twice"):
        load_catalog(_catalog(tmp_path, BASE + BASE))
    with pytest.raises(NotFoundError, match="known playbooks: ransomware-pacs"):
        get_playbook("nope")


def test_playbook_commands(rg) -> None:  # type: ignore[no-untyped-def]
    r = rg("playbook", "list", "--json")
    assert r.code == 0 and {p["id"] for p in json.loads(r.out)} == REQUIRED
    r = rg("playbook", "show", "compromised-modality", "--json")
    doc = json.loads(r.out)
    assert doc["targets"]["segment_isolated"] == 45 and doc["steps"][0]["role"] == "technologist_lead"
    r = rg("playbook", "show", "ransomware-pacs")
    assert r.code == 0 and "Ransomware on PACS or VNA" in r.out and "Decision" in r.out
    assert rg("playbook", "show", "nope").code == 3
