"""The formatting layer, and a walk over what people read (reports, ``show`` output) for Python-isms."""

from __future__ import annotations

import html as html_lib
import re
from enum import Enum
from pathlib import Path

import pytest

from radguard import wording
from tests.reports.northwind import cli

# What a reader must never see: Python literals, "(s)" plurals, internal enum/framework keys, "0.0 h".
PYTHONISMS = re.compile(
    r"\bFalse\b|\bTrue\b|\bNone\b|\[\]|\['|\{'|\(s\)|\bai_application\b|\bcsf2\b|\bhph_cpg\b"
    r"|\bbackup_set:|\b0\.0 h\b|\b0\.0 min\b"
)


def visible_text(html: str) -> str:
    """The text a reader sees: no CSS, no markup, no attribute values."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<svg\b.*?</svg>", lambda m: " ".join(re.findall(r">([^<]+)<", m.group(0))), html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def offending(text: str) -> list[str]:
    return [text[max(0, m.start() - 60): m.end() + 40].replace("\n", " ") for m in PYTHONISMS.finditer(text)]


class Colour(Enum):
    AI = "ai_application"


@pytest.mark.parametrize(("n", "word", "expected"), [
    (1, "site", "1 site"), (0, "site", "0 sites"), (10, "open finding", "10 open findings"),
    (2, "policy", "2 policies"), (3, "day", "3 days"), (2, "box", "2 boxes"), (2, "status", "2 statuses"),
])
def test_plural_counts_with_their_noun(n: int, word: str, expected: str) -> None:
    assert wording.plural(n, word) == expected


def test_plural_with_an_irregular_form_and_verbs() -> None:
    assert wording.plural(3, "person", "people") == "3 people"
    assert wording.noun(1, "is", "are") == "is" and wording.noun(4, "is", "are") == "are"
    assert wording.noun(2, "finding speaks", "findings speak") == "findings speak"


@pytest.mark.parametrize(("hours", "expected"), [
    (0.0, "0 h"), (0.01, "< 0.1 h"), (0.0999, "< 0.1 h"), (0.1, "0.1 h"), (1.25, "1.2 h"), (4.0, "4 h"),
    (72.0, "3 days"), (None, "not known"),
])
def test_hours_never_says_zero_point_zero(hours: float | None, expected: str) -> None:
    assert wording.hours(hours) == expected


def test_hours_refuses_a_negative_duration() -> None:
    with pytest.raises(ValueError, match="negative"):
        wording.hours(-1.0)


def test_values_read_as_words() -> None:
    assert wording.value(False) == "no" and wording.value(True) == "yes"
    assert wording.value(None) == "—" and wording.value([]) == "—" and wording.value({}) == "—"
    assert wording.value(["CVE-2024-1", "CVE-2024-2"]) == "CVE-2024-1, CVE-2024-2"
    assert (wording.value({"remote_access_mfa": False, "ports": [104, 11112]})
            == "remote access MFA: no, ports: 104, 11112")
    assert wording.value(Colour.AI) == "AI application"
    assert wording.value(2.50) == "2.5"


def test_labels_of_internal_names() -> None:
    assert wording.label("ai_application") == "AI application"
    assert wording.label("csf2") == "NIST CSF 2.0" and wording.label("hph_cpg") == "HPH CPGs"
    assert wording.label("backup_set:7") == "backup set 7"
    assert wording.label("risk_score") == "risk score"


def test_evidence_rows_flatten_nested_evidence_into_words() -> None:
    rows = wording.evidence_rows({
        "remote_access_mfa": False, "console_mfa": None, "cleartext_dicom": ["10.20.1.11:104", "10.20.1.12:104"],
        "sets": [], "backup": {"copies": 1, "offsite": {"site": "NWH-OIC"}},
        "probes": [{"port": 104, "tls": False}, {"port": 11112, "tls": True}],
    })
    assert rows == [
        ("remote access MFA", "no"), ("console MFA", "not recorded"),
        ("cleartext DICOM", "10.20.1.11:104, 10.20.1.12:104"), ("sets", "not recorded"),
        ("backup › copies", "1"), ("backup › offsite › site", "NWH-OIC"),
        ("probes 1 › port", "104"), ("probes 1 › tls", "no"), ("probes 2 › port", "11112"), ("probes 2 › tls", "yes"),
    ]
    assert not any("{" in v or "[" in v or "None" in v for _, v in rows)


def test_restore_status_says_what_would_come_back() -> None:
    assert (wording.restore_status(17, 20, [("missing", 1), ("altered", 1), ("corrupt", 1)])
            == "17 of 20 instances restorable — 1 missing, 1 altered, 1 corrupt: restore incomplete")
    assert wording.restore_status(20, 20, []) == "20 of 20 instances restorable"
    assert wording.restore_status(1, 1, []) == "1 of 1 instance restorable"
    assert wording.restore_status(5, 6, []) == "5 of 6 instances restorable: restore incomplete"


def test_recovery_point_and_rto_in_words() -> None:
    assert wording.recovery_point(2.5, 30.0, 4.0) == "2.5 h (target 4 h: within)"
    assert wording.recovery_point(None, 26.0, 24.0) == "about 26 h since the last backup (target 24 h: beyond)"
    assert wording.recovery_point(None, 0.02, None) == "about < 0.1 h since the last backup"
    assert wording.recovery_point(None, None, 24.0) == "not known (no backup time recorded)"
    assert wording.rto_words("not met: copy incomplete", 4.0) == "4 h: not met: copy incomplete"
    assert wording.rto_words(None, None) == "no RTO to compare with"


def test_rendered_reports_have_no_python_isms(northwind_url: str, out_dir: Path) -> None:
    for audience in ("executive", "technical"):
        path = out_dir / f"wording-{audience}.html"
        cli("--db", northwind_url, "report", "--audience", audience, "--format", "html", "-o", str(path))
        text = visible_text(path.read_text(encoding="utf-8"))
        assert "site(s)" not in text and "finding(s)" not in text
        assert offending(text) == [], f"{audience} report"


def test_show_commands_have_no_python_isms(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    listed = rg("--db", northwind_url, "findings", "list", "--json")
    assert listed.code == 0, listed.err
    ids = [int(x) for x in re.findall(r'"id": (\d+)', listed.out)][:40]
    assert ids, "the sample organization has findings"
    for fid in ids:
        shown = rg("--db", northwind_url, "findings", "show", str(fid))
        assert shown.code == 0, shown.err
        assert offending(shown.out) == [], f"findings show {fid}"
    assets = rg("--db", northwind_url, "inventory", "list", "--json")
    for asset_id in [int(x) for x in re.findall(r'"id": (\d+)', assets.out)][:15]:
        shown = rg("--db", northwind_url, "inventory", "show", str(asset_id))
        assert shown.code == 0, shown.err
        assert offending(shown.out) == [], f"inventory show {asset_id}"


def test_findings_list_on_an_empty_register_says_to_assess(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "findings", "list")
    assert r.code == 0, r.err
    assert "findings register is empty" in r.out and "radguard assess" in r.out


def test_executive_report_speaks_plain_language(northwind_url: str, out_dir: Path) -> None:
    """No command-line or configuration vocabulary, rule IDs or Python values reach the board."""
    from radguard.checks.executive import load_wording, vocabulary_problems

    path = out_dir / "plain-executive.html"
    cli("--db", northwind_url, "report", "--audience", "executive", "--format", "html", "-o", str(path))
    text = visible_text(path.read_text(encoding="utf-8"))
    assert vocabulary_problems(text) == []
    assert offending(text) == []
    # The risks are told in the checks' executive wording.
    titles = [w.title for w in load_wording().values()]
    risks = text[text.index("The five risks that matter most"):text.index("Backups and drills")]
    assert sum(1 for t in titles if t in risks) >= 3
    assert "What could happen:" in risks
