"""Templates out and answers back in: exact round trips, and refusals that name line and field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml


def _start(rg, url: str, size: str = "small") -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", url, "init").code == 0
    r = rg("--db", url, "checklist", "assessment", "create", "--org", "Northwind", "--size", size, "--json")
    assert r.code == 0, r.err


def _answers(rg, url: str) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    r = rg("--db", url, "checklist", "template", "-o", Path(url.removeprefix("sqlite:///")).with_name("now.yaml"))
    assert r.code == 0, r.err
    doc = yaml.safe_load(Path(url.removeprefix("sqlite:///")).with_name("now.yaml").read_text())
    return {a["question"]: a for a in doc["answers"] if a["answer"] is not None}


def test_yaml_template_round_trip(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _start(rg, sqlite_url)
    out = tmp_path / "t.yaml"
    r = rg("--db", sqlite_url, "checklist", "template", "-o", out)
    assert r.code == 0 and "wrote 51 questions" in r.out
    doc = yaml.safe_load(out.read_text())
    assert doc["assessment"] == 1 and len(doc["answers"]) == 51
    first, second, third = doc["answers"][:3]
    first.update(answer=3, owner="CISO", notes="named in policy", evidence=["https://intranet/policy/7"])
    second.update(answer="na", na_reason="no legacy modalities")
    third.update(answer=0)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    r = rg("--db", sqlite_url, "checklist", "import", out, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"assessment": 1, "answered": 2, "not_applicable": 1, "blank": 48}
    again = tmp_path / "again.yaml"
    rg("--db", sqlite_url, "checklist", "template", "-o", again)
    assert yaml.safe_load(again.read_text()) == doc


def test_csv_template_round_trip(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _start(rg, sqlite_url, "large")
    out = tmp_path / "t.csv"
    assert rg("--db", sqlite_url, "checklist", "template", "-o", out).code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 81 and list(rows[0]) == ["question", "domain", "text", "answer", "na_reason", "owner",
                                                 "notes", "evidence"]
    rows[0].update(answer="2", owner="CISO", evidence="https://a/1; https://a/2")
    rows[5].update(answer="NA", na_reason="no vendors")
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    r = rg("--db", sqlite_url, "checklist", "import", out)
    assert r.code == 0 and "1 answered, 1 not applicable, 79 left blank" in r.out
    again = tmp_path / "again.csv"
    rg("--db", sqlite_url, "checklist", "template", "-o", again)
    back = list(csv.DictReader(again.open()))
    rows[5]["answer"] = "na"
    rows[0]["evidence"] = "https://a/1; https://a/2"
    assert back == rows


def test_invalid_answers_name_line_and_field_and_nothing_is_imported(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _start(rg, sqlite_url)
    cases = [
        ("question,answer\nGOV-01,2\nGOV-99,3\n", "line 3, field 'question': unknown question 'GOV-99'"),
        ("question,answer\nGOV-01,2\nGOV-04,5\n", "line 3, field 'answer': 5 is out of scale"),
        ("question,answer\nGOV-01,2\nGOV-04,yes\n", "line 3, field 'answer': 'yes' is not a maturity level"),
        ("question,answer,na_reason\nGOV-01,2,\nGOV-04,na,\n", "line 3, field 'na_reason'"),
        ("question,answer\nGOV-01,2\nGOV-01,3\n", "line 3, field 'question': GOV-01 is answered twice"),
        ("question,answer\nGOV-01,2\nNET-05,3\n", "NET-05 does not apply to a small organization"),
        ("question,answer,colour\nGOV-01,2,red\n", "line 1, field 'colour': unknown column"),
    ]
    for text, message in cases:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        r = rg("--db", sqlite_url, "checklist", "import", bad)
        assert r.code == 2, (text, r.err)
        assert message in r.err, (message, r.err)
    yaml_bad = tmp_path / "bad.yaml"
    yaml_bad.write_text("answers:\n- question: GOV-01\n  answer: 2\n- question: GOV-04\n  answer: 2\n"
                        "- question: INV-01\n  answer: na\n  owner: x\n")
    r = rg("--db", sqlite_url, "checklist", "import", yaml_bad)
    assert r.code == 2 and "bad.yaml, line 7, field 'na_reason'" in r.err
    yaml_bad.write_text("answers:\n- question: GOV-01\n  answer: 2\n- question: GOV-04\n  answer: 17\n")
    r = rg("--db", sqlite_url, "checklist", "import", yaml_bad)
    assert "bad.yaml, line 5, field 'answer'" in r.err
    assert _answers(rg, sqlite_url) == {}


def test_closed_assessment_refuses_answers(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _start(rg, sqlite_url)
    assert rg("--db", sqlite_url, "checklist", "assessment", "close").code == 0
    f = tmp_path / "a.csv"
    f.write_text("question,answer\nGOV-01,2\n")
    r = rg("--db", sqlite_url, "checklist", "import", f)
    assert r.code == 1 and "is closed" in r.err
    r = rg("--db", sqlite_url, "checklist", "assessment", "list", "--json")
    assert [(a["version"], a["status"]) for a in json.loads(r.out)] == [(1, "closed")]


def test_non_utf8_answers_are_refused_by_line(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a Latin-1 answers file used to crash with a UnicodeDecodeError traceback."""
    _start(rg, sqlite_url)
    for name, text in [("latin.csv", "question,answer,notes\nGOV-01,2,ok\nGOV-04,1,revu en réunion\n"),
                       ("latin.yaml", "answers:\n- question: GOV-01\n  answer: 2\n  notes: revu en réunion\n")]:
        bad = tmp_path / name
        bad.write_bytes(text.encode("latin-1"))
        r = rg("--db", sqlite_url, "checklist", "import", bad)
        line = 3 if name.endswith(".csv") else 4
        assert r.code == 2 and f"{name}, line {line}: not UTF-8 text; save the file as UTF-8" in r.err, r.err
        assert "Traceback" not in r.err
    assert _answers(rg, sqlite_url) == {}
