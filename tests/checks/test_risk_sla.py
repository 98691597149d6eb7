"""Risk arithmetic and SLA due dates."""

from __future__ import annotations

from datetime import date

import pytest

from radguard.checks.risk import score
from radguard.checks.sla import SlaPolicy, parse_override


def test_risk_orders_by_each_factor() -> None:
    base = score("high", 3, 0.5).score
    assert score("critical", 3, 0.5).score > base > score("medium", 3, 0.5).score
    assert score("high", 5, 0.5).score > base > score("high", 1, 0.5).score
    assert score("high", 3, 1.0).score > base > score("high", 3, 0.0).score
    assert score("high", 3, 0.5, {"kev": True}).score > base
    kev = score("high", 3, 0.5, {"kev": True}).score
    assert score("high", 3, 0.5, {"kev": True, "ransomware": "Known"}).score > kev


def test_risk_values_and_explanation() -> None:
    rs = score("high", 4, 0.5)
    # 100 × 0.75 × 0.9 × (0.6 + 0.4 × 0.5) = 54
    assert rs.score == 54
    assert rs.explanation["criticality"] == {"value": 4, "factor": 0.9, "note": "asset criticality 4 of 5"}
    assert score("critical", 5, 1.0, {"ransomware": True}).score == 100  # capped
    dmz = score("medium", 3, 0.2, exposed_zone=True)
    assert dmz.explanation["exposure"]["value"] == 0.9
    assert "Internet-facing" in dmz.explanation["exposure"]["note"]
    unknown = score("medium", None, 0.5)
    assert unknown.explanation["criticality"]["note"] == "criticality not recorded"


def test_sla_defaults_follow_hicp_table_8() -> None:
    policy = SlaPolicy()
    start = date(2026, 1, 1)
    assert policy.due("critical", start, exposed=True) == date(2026, 1, 15)
    assert policy.due("high", start, exposed=True) == date(2026, 1, 31)
    assert policy.due("low", start, exposed=True) == date(2026, 4, 1)
    assert policy.due("critical", start, exposed=False) == date(2026, 4, 1)
    assert policy.due("medium", start, exposed=False) == date(2026, 6, 30)
    assert policy.due("low", start, exposed=False) is None
    assert policy.due("info", start, exposed=True) is None
    assert policy.is_exposed_zone("dmz") and policy.is_exposed_zone("Partner-DMZ")
    assert not policy.is_exposed_zone("imaging-core") and not policy.is_exposed_zone(None)


def test_sla_overrides() -> None:
    name, days = parse_override("critical=7")
    policy = SlaPolicy().with_overrides({name: days, "low": None})
    assert policy.exposed.critical == 7 and policy.internal.critical == 7
    assert parse_override("low=none") == ("low", None)
    with pytest.raises(ValueError, match="SEVERITY=DAYS"):
        parse_override("urgent=3")
    with pytest.raises(ValueError, match="whole number"):
        parse_override("high=soon")
