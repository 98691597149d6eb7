"""The README's quoted demo summary against a run's summary (used by test_demo_end_to_end).

Kept apart from the test so the comparison itself can be checked without starting the demo
(tests/test_readme_demo.py): a wrong number, a missing line or a reordered top five is reported.
The README's picture of the executive report is made and checked here too (``render_screenshot``,
``screenshot_mismatches``).
"""

from __future__ import annotations

import difflib
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from radguard.cli.demo import summary_lines

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST = re.compile(r"^radguard demo finished in \d+ s\. Database: radguard-demo/demo\.db$")


def quoted_summary(readme: str) -> list[str]:
    """The lines of the fenced block that follows "Its summary" in the README."""
    head = readme.index("Its summary")
    start = readme.index("```\n", head) + 4
    return readme[start:readme.index("```\n", start)].splitlines()


def readme_mismatches(readme: str, summary: dict[str, Any]) -> list[str]:
    """What in the README's quoted summary differs from what the demo prints for ``summary``.

    The run time and the database's absolute path vary from run to run; every other line must be
    exactly what ``radguard demo`` prints, the top-five table's cells those of the run's actions in
    order, and the report lines name the reports the run wrote.
    """
    quoted = quoted_summary(readme)
    printed = summary_lines(summary, "radguard-demo/demo.db")
    problems: list[str] = []
    if not quoted or not FIRST.match(quoted[0]):
        problems.append(f"first line {quoted[:1]!r} is not 'radguard demo finished in N s. Database: ...'")
    n = len(printed)
    for i, (want, got) in enumerate(zip(printed[1:], quoted[1:n], strict=False), start=2):
        if want != got:
            problems.append(f"line {i}: README has {got!r}, the demo prints {want!r}")
    rest = quoted[n:]
    if not rest or rest[0] != "Top five actions (radguard roadmap)":
        problems.append(f"line {n + 1}: expected the top-five title, found {rest[:1]!r}")
        return problems
    rows = [[cell.strip() for cell in line.split("|")] for line in rest[2:7]]
    actions = [[str(a["rank"]), a["title"], str(a["findings"] or ""), a["horizon"], a["owner"]]
               for a in summary["top_actions"]]
    if rows != actions:
        problems.append(f"top five: README has {rows}, the demo ranks {actions}")
    reports = [line.strip().split(":")[0] for line in rest[8:]] if rest[7:8] == ["Reports:"] else None
    if reports != [name.replace("_", " ") for name in summary.get("reports", {})]:
        problems.append(f"reports: README lists {reports}, the demo wrote {list(summary.get('reports', {}))}")
    return problems


# The README's picture of the executive report: page 1 of the demo's executive PDF, rendered by
# poppler's pdftoppm, and the text of that page (pdftotext) stored inside the PNG.
SCREENSHOT = README.parent / "docs" / "img" / "demo-executive-report.png"
TEXT_KEY = "radguard-page-text"
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def first_page_text(pdf: Path) -> str:
    """Page 1's text as laid out, with every date written as YYYY-MM-DD: the report's generation
    day (in its subtitle) changes every day the demo runs, and nothing else on the page is a date
    that the demo's data fixes."""
    out = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    lines = [" ".join(line.split()) for line in out.splitlines() if line.strip()]
    return ISO_DAY.sub("YYYY-MM-DD", "\n".join(lines))


def render_screenshot(pdf: Path, png: Path) -> None:
    """Write page 1 of ``pdf`` as ``png`` (96 dpi, a 128-colour palette), with that page's text
    (``first_page_text``) stored in the PNG as a ``radguard-page-text`` text chunk."""
    from PIL import Image, PngImagePlugin

    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-png", "-r", "96", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                       check=True, capture_output=True)
        with Image.open(stem.with_suffix(".png")) as page:
            small = page.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    info.add_itxt(TEXT_KEY, first_page_text(pdf))
    small.save(png, optimize=True, pnginfo=info)


def screenshot_mismatches(pdf: Path, png: Path = SCREENSHOT) -> list[str]:
    """How the committed picture ``png`` differs from page 1 of ``pdf``: the page text it was
    rendered from against the PDF's (line by line), and its size in pixels against a fresh render."""
    from PIL import Image

    with Image.open(png) as shot:
        stored = str(shot.info.get(TEXT_KEY, ""))
        size = shot.size
    if not stored:
        return [f"{png.name} has no {TEXT_KEY} text: it was not made by render_screenshot"]
    problems = [line for line in difflib.unified_diff(stored.splitlines(), first_page_text(pdf).splitlines(),
                                                      f"{png.name} (rendered from)", "the demo's page 1", lineterm="")]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.png"
        render_screenshot(pdf, fresh)
        with Image.open(fresh) as again:
            if again.size != size:
                problems.append(f"{png.name} is {size[0]}x{size[1]} px, page 1 renders at "
                                f"{again.size[0]}x{again.size[1]}")
    return problems
