"""docs/cli.md is generated from the commands' own help; it must match what they say now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    typer = Path(sys.executable).parent / "typer"
    subprocess.run([str(typer), "radguard.cli.main", "utils", "docs", "--name", "radguard", "--title",
                    "CLI reference", "--output", str(out)], check=True, env=env, capture_output=True)
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), "run scripts/gen-cli-docs and commit docs/cli.md"
