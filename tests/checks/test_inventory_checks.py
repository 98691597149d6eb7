"""Positive and negative cases for catalog/inventory.yaml."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.checks.conftest import NOW, add_probe, asset, observe


def test_asset_stale(s: Session) -> None:
    found = observe(s, "RG-ASSET-STALE")
    assert "NWH-MAIN/US-2" in found  # reviewed 2024-11-30
    assert "NWH-MAIN/XA-CATH-1" not in found  # reviewed 2026-10-01
    us2 = asset(s, "NWH-MAIN/US-2")
    us2.last_seen = NOW - timedelta(days=3)  # discovery saw it recently
    assert "NWH-MAIN/US-2" not in observe(s, "RG-ASSET-STALE")


def test_asset_unconfirmed(s: Session) -> None:
    assert observe(s, "RG-ASSET-UNCONFIRMED") == {}
    found_asset = asset(s, "NWH-MAIN/DOSE-MONITOR")
    found_asset.confirmed = False
    found_asset.source = "discovery"
    assert list(observe(s, "RG-ASSET-UNCONFIRMED")) == ["NWH-MAIN/DOSE-MONITOR"]


def test_no_owner_and_criticality_unknown(s: Session) -> None:
    assert observe(s, "RG-NO-OWNER") == {}
    assert observe(s, "RG-CRITICALITY-UNKNOWN") == {}
    fax = asset(s, "NWH-OIC/OIC-FAX-SERVER")
    fax.owner = " "
    fax.criticality = None
    assert list(observe(s, "RG-NO-OWNER")) == ["NWH-OIC/OIC-FAX-SERVER"]
    assert list(observe(s, "RG-CRITICALITY-UNKNOWN")) == ["NWH-OIC/OIC-FAX-SERVER"]


def test_endpoint_uninventoried(s: Session) -> None:
    add_probe(s, "10.77.0.9", 104)  # nobody's host
    add_probe(s, "10.20.1.11", 104)  # CT-ED-1's inventoried endpoint, left unattached by discovery
    add_probe(s, "10.77.0.10", 104, state="closed")
    found = observe(s, "RG-ENDPOINT-UNINVENTORIED")
    assert list(found) == ["host:10.77.0.9#10.77.0.9:104"]
