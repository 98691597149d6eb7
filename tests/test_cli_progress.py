"""Progress bars for long CLI work (issue #19): shown on standard error, only after a delay."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from rich.console import Console

from radguard.cli.common import progress_bar
from tests.conftest import EXAMPLES


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def _wait_for(out: io.StringIO, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in out.getvalue():
        assert time.monotonic() < deadline, f"the bar never showed {text!r}"
        time.sleep(0.02)


def test_bar_appears_on_slow_work_with_its_steps() -> None:
    term, out = _terminal()
    with progress_bar("reading the register", total=2, delay=0.05, to=term) as step:
        _wait_for(out, "reading the register")  # polled: a loaded machine may start the bar late
        step("writing the PDF")
        _wait_for(out, "writing the PDF")
    shown = out.getvalue()
    assert "reading the register" in shown and "writing the PDF" in shown and "1/2" in shown


def test_quick_work_shows_nothing() -> None:
    term, out = _terminal()
    with progress_bar("importing", delay=5.0, to=term):
        pass
    assert out.getvalue() == ""


def test_json_output_stays_valid_json(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The bar goes to standard error: standard output of --json is JSON alone."""
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["assets_created"] > 10
    r = rg("--db", sqlite_url, "assess", "--json")
    assert r.code == 0 and json.loads(r.out)["observations"] > 40
    out = tmp_path / "exec.html"
    r = rg("--db", sqlite_url, "report", "-o", str(out))
    assert r.code == 0 and out.stat().st_size > 1000 and "wrote the executive report" in r.out
