"""docs/checks.md is generated from the catalog; it must list every check as it is now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_catalog_doc_is_current() -> None:
    out = subprocess.run([sys.executable, "-m", "radguard.checks.docgen"], capture_output=True, text=True, check=True)
    assert out.stdout == (ROOT / "docs" / "checks.md").read_text(), (
        "regenerate: python -m radguard.checks.docgen > docs/checks.md")
