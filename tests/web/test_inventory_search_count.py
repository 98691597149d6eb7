"""#18: a search's count stops at SEARCH_COUNT_CAP, and the page and the API say so in words.

The cap is lowered to 2 so three matches exceed it; without the cap lowered the same search
counts exactly, so each assertion could fail if ``more`` were not passed through.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.inventory import queries
from radguard.wording import count_of


def _seed(db: Database) -> None:
    with db.transaction() as s:
        site = Site(code="S1", name="Site 1")
        s.add(site)
        s.flush()
        s.add_all(Asset(site_id=site.id, name=f"scanner-{i}", asset_class="modality") for i in range(3))
        s.add(Asset(site_id=site.id, name="viewer", asset_class="workstation"))


def test_words() -> None:
    assert count_of(1, "asset") == "1 asset"
    assert count_of(2000, "asset") == "2,000 assets"
    assert count_of(5000, "asset", more=True) == "more than 5,000 assets"


def test_the_inventory_page_and_the_api_say_more_than_the_cap(
        web_db: Database, client_for: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(web_db)
    viewer = client_for("viewer")
    page = viewer.get("/inventory", params={"q": "scanner"})
    assert page.status_code == 200
    assert "3 assets · page 1 of 1" in page.text
    assert viewer.get("/api/v1/assets", params={"q": "scanner"}).json()["more"] is False

    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 2)
    page = viewer.get("/inventory", params={"q": "scanner"})
    assert "more than 2 assets · page 1</p>" in page.text, page.text
    assert page.text.count("scanner-") >= 3  # every match is still listed
    body = viewer.get("/api/v1/assets", params={"q": "scanner"}).json()
    assert (body["total"], body["more"]) == (2, True)
    assert sorted(a["name"] for a in body["items"]) == ["scanner-0", "scanner-1", "scanner-2"]
    assert viewer.get("/api/v1/assets").json()["more"] is False  # the plain list counts exactly
