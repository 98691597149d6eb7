"""The pages an executive reads speak plain language: no CLI or configuration vocabulary, rule IDs or Python."""

from __future__ import annotations

import re

from radguard.checks.executive import vocabulary_problems
from tests.consistency.conftest import World
from tests.consistency.surfaces import page
from tests.reports.test_wording import offending, visible_text


def _main(html: str) -> str:
    """The page's content, without the navigation and footer every page shares."""
    m = re.search(r"<main\b.*?</main>", html, flags=re.S)
    return visible_text(m.group(0) if m else html)


def test_dashboard_has_no_technical_vocabulary(world: World) -> None:
    text = _main(page(world.client, "/"))
    assert "Top roadmap actions" in text
    assert vocabulary_problems(text) == []
    assert offending(text) == []
