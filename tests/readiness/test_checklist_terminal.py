"""`radguard checklist answer` driven through a real pseudo-terminal with pexpect: answer, quit, resume."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from radguard.readiness.checklists.loader import load_catalog

PROMPT = r"Answer \[0-4, na, s=skip, q=save and quit, \?=scale\]: "


def _spawn(url: str, *args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "TERM": "xterm"}
    child = pexpect.spawn(sys.executable, ["-m", "radguard.cli.main", "--db", url, "checklist", "answer", *args],
                          env=env, encoding="utf-8", timeout=60, dimensions=(50, 160))
    return child


def test_questionnaire_answers_quits_and_resumes(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "checklist", "assessment", "create", "--org", "Northwind", "--size", "small")
    assert r.code == 0, r.err
    small = [q.id for q in load_catalog().questions_for("small")]
    n = len(small)

    child = _spawn(sqlite_url)
    child.expect(rf"0 of {n} answered, {n} to go")
    child.expect(rf"\[1/{n}\] {small[0]}")
    child.expect(PROMPT)
    child.sendline("7")
    child.expect("out of scale")
    child.expect(PROMPT)
    child.sendline("3")
    child.expect(r"Owner \[Chief information security officer\]: ")
    child.sendline("")
    child.expect(r"Notes \(Enter for none\): ")
    child.sendline("named in the 2026 policy")
    child.expect(r"Evidence link \(Enter for none\): ")
    child.sendline("https://intranet/policy/7")
    child.expect("saved")
    child.expect(rf"\[2/{n}\] {small[1]}")
    child.expect(PROMPT)
    child.sendline("na")
    child.expect(r"Why does it not apply\? ")
    child.sendline("")
    child.expect("a reason is required")
    child.expect(r"Why does it not apply\? ")
    child.sendline("we run no legacy modalities")
    child.expect(r"Owner \[Chief information security officer\]: ")
    child.sendline("Imaging director")
    child.expect("Notes")
    child.sendline("")
    child.expect("Evidence link")
    child.sendline("")
    child.expect(rf"\[3/{n}\] {small[2]}")
    child.expect(PROMPT)
    child.sendline("q")
    child.expect(rf"Stopped\. 2 answer\(s\) saved; run the same command to continue \({n - 2} left\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = _spawn(sqlite_url)
    child.expect(rf"2 of {n} answered, {n - 2} to go")
    child.expect(rf"\[1/{n - 2}\] {small[2]}")
    child.expect(PROMPT)
    child.sendline("s")
    child.expect(rf"\[2/{n - 2}\] {small[3]}")
    child.expect(PROMPT)
    child.sendline("2")
    child.expect(r"Owner \[")
    child.sendline("Risk committee")
    child.expect("Notes")
    child.sendline("")
    child.expect("Evidence link")
    child.sendline("")
    child.expect("saved")
    child.expect(PROMPT)
    child.sendeof()  # Ctrl-D behaves like q: what was answered stays saved
    child.expect("Stopped")
    child.expect(pexpect.EOF)
    child.close()

    out = tmp_path / "now.yaml"
    assert rg("--db", sqlite_url, "checklist", "template", "-o", out).code == 0
    import yaml

    answers = {a["question"]: a for a in yaml.safe_load(out.read_text())["answers"] if a["answer"] is not None}
    assert set(answers) == {small[0], small[1], small[3]}
    assert answers[small[0]]["answer"] == 3 and answers[small[0]]["owner"] == "Chief information security officer"
    assert answers[small[0]]["evidence"] == ["https://intranet/policy/7"]
    assert answers[small[1]]["answer"] == "na" and answers[small[1]]["na_reason"] == "we run no legacy modalities"
    assert answers[small[3]]["owner"] == "Risk committee"
    score = json.loads(rg("--db", sqlite_url, "checklist", "score", "--json").out)
    assert score["overall"]["answered"] == 2 and score["overall"]["applicable"] == n - 1  # na leaves the count
