"""The check that keeps the README's demo summary true (tests/demo/readme.py) can fail: a
summary equal to the quote passes, and a changed count, a reordered top five or a missing report
line is reported; and the check of the README's picture of the executive report reports a page
whose text or size differs from the one it was rendered from. The checks against a real demo run
are in tests/demo/test_demo_end_to_end.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.demo.readme import (
    README,
    SCREENSHOT,
    TEXT_KEY,
    quoted_summary,
    readme_mismatches,
    render_screenshot,
    screenshot_mismatches,
)

README_TEXT = README.read_text(encoding="utf-8")


def _as_quoted() -> dict[str, Any]:
    """The summary a run would have had to print exactly the README's block."""
    rows = [[c.strip() for c in line.split("|")] for line in quoted_summary(README_TEXT)[8:13]]
    return {
        "seconds": 13.2,
        "nodes": {"simulated": 35, "found": 35, "services": {"dicom": 23, "dicom-tls": 1, "dicomweb": 2,
                                                             "hl7-mllp": 2, "http": 2, "https": 5}},
        "findings": {"open": 243, "by_severity": {"critical": 19, "high": 90, "medium": 114, "low": 20, "info": 0}},
        "seeded_weaknesses": {"expected": 62, "found": 62, "missing": [], "unexpected": []},
        "readiness": {"score": 1.31, "percent": 32.8, "target": 2.8},
        "backup": {"counts": {"ok": 17, "missing": 1, "altered": 1, "corrupt": 1},
                   "rto": {"hours": 2.0, "words": "not met: copy incomplete"}},
        "top_actions": [{"rank": int(r[0]), "title": r[1], "findings": int(r[2]), "horizon": r[3], "owner": r[4]}
                        for r in rows],
        "reports": {"executive_html": "x", "executive_pdf": "x", "technical_html": "x"},
    }


def test_a_summary_equal_to_the_quote_passes() -> None:
    assert readme_mismatches(README_TEXT, _as_quoted()) == []


def test_a_changed_count_or_order_or_report_is_reported() -> None:
    more = _as_quoted()
    more["findings"]["open"] = 244
    assert any("Open findings: 244" in p for p in readme_mismatches(README_TEXT, more))
    swapped = _as_quoted()
    swapped["top_actions"][0], swapped["top_actions"][1] = swapped["top_actions"][1], swapped["top_actions"][0]
    assert any(p.startswith("top five:") for p in readme_mismatches(README_TEXT, swapped))
    fewer = copy.deepcopy(_as_quoted())
    del fewer["reports"]["executive_pdf"]
    assert any(p.startswith("reports:") for p in readme_mismatches(README_TEXT, fewer))
    no_rto = _as_quoted()
    no_rto["backup"]["rto"] = None
    assert any("Backup copy" in p for p in readme_mismatches(README_TEXT, no_rto))


def _pdf(path: Path, body: str, size: str = "A4") -> Path:
    from weasyprint import HTML

    HTML(string=f"<style>@page {{ size: {size} }}</style><h1>Readiness at a glance</h1><p>{body}</p>").write_pdf(path)
    return path


def test_the_screenshot_check_tells_a_changed_page(tmp_path: Path) -> None:
    page = _pdf(tmp_path / "page.pdf", "Open findings: 243, generated 2026-12-05")
    png = tmp_path / "shot.png"
    render_screenshot(page, png)
    # Another day's run of the same page passes (the date is masked) ...
    assert screenshot_mismatches(_pdf(tmp_path / "later.pdf", "Open findings: 243, generated 2027-01-09"), png) == []
    # ... a changed number does not, nor a page of another size, nor a picture not made by render_screenshot.
    changed = screenshot_mismatches(_pdf(tmp_path / "more.pdf", "Open findings: 244, generated 2026-12-05"), png)
    assert "+Open findings: 244, generated YYYY-MM-DD" in changed
    letter = screenshot_mismatches(_pdf(tmp_path / "letter.pdf", "Open findings: 243, generated 2026-12-05",
                                        "letter"), png)
    assert any("renders at" in p for p in letter)
    from PIL import Image

    Image.new("RGB", (10, 10)).save(tmp_path / "plain.png")
    assert "not made by render_screenshot" in screenshot_mismatches(page, tmp_path / "plain.png")[0]


def test_the_readme_screenshot_was_made_by_render_screenshot() -> None:
    """The committed picture carries the page text the demo test compares (it cannot pass vacuously)."""
    from PIL import Image

    with Image.open(SCREENSHOT) as shot:
        text = str(shot.info.get(TEXT_KEY, ""))
    assert text.startswith("Imaging cybersecurity readiness: executive") and "Readiness at a glance" in text
