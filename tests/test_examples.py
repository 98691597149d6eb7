"""The demo ships copies of the example files; they must not drift apart.

``examples/`` is what users read and copy; ``src/radguard/demo/data/`` is what the installed
package can reach. A fix made in one place only would make the demo show something the
examples do not say (or the reverse), so the copies are compared here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT

DEMO_DATA = ROOT / "src" / "radguard" / "demo" / "data"

# The one intended difference (src/radguard/demo/data/README.md): the demo's RIS also lists the
# web viewer shipped with it, so a KEV-listed CVE reaches the demo through a real advisory.
DEMO_ONLY_SOFTWARE = {("NWH-MAIN", "RIS"): [{"vendor": "Philips", "product": "Vue Motion", "version": "12.2.1.5"}]}


@pytest.mark.parametrize("name", ["drill", "services", "team", "vendors"])
def test_demo_copies_are_identical_to_the_examples(name: str) -> None:
    example = EXAMPLES / f"northwind-{name}.yaml"
    demo = DEMO_DATA / f"northwind-{name}.yaml"
    assert demo.read_bytes() == example.read_bytes(), (
        f"{demo} and {example} differ; edit one and copy it over the other")


def _load(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def test_demo_inventory_is_the_example_plus_the_documented_viewer() -> None:
    example = _load((EXAMPLES / "northwind-inventory.yaml").read_text(encoding="utf-8"))
    demo = _load((DEMO_DATA / "northwind-inventory.yaml").read_text(encoding="utf-8"))
    example_assets = {(a["site"], a["name"]) for a in example["assets"]}
    missing = [key for key in ((a["site"], a["name"]) for a in demo["assets"]) if key not in example_assets]
    assert missing == [], f"demo assets not in examples/northwind-inventory.yaml: {missing}"

    # Remove exactly the documented extra software; what is left must equal the example.
    stripped = copy.deepcopy(demo)
    for asset in stripped["assets"]:
        for extra in DEMO_ONLY_SOFTWARE.get((asset["site"], asset["name"]), []):
            assert extra in asset["software"], f"{asset['name']}: the documented demo-only software is gone"
            asset["software"].remove(extra)
    assert stripped == example
