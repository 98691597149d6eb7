"""Positive and negative cases for catalog/access.yaml."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from radguard.db.models.evidence import Attestation
from tests.checks.conftest import NOW, asset, observe


def test_remote_always_on(s: Session) -> None:
    found = observe(s, "RG-REMOTE-ALWAYS-ON")
    assert "NWH-MAIN/CT-ED-1" in found
    assert "NWH-MAIN/CT-2" not in found  # on-demand
    assert "NWH-MAIN/DX-ED" not in found  # none


def test_remote_no_mfa(s: Session) -> None:
    found = observe(s, "RG-REMOTE-NO-MFA")
    assert found["NWH-MAIN/CT-ED-1"].evidence == {"remote_access": "always-on", "remote_access_mfa": False}
    assert "NWH-MAIN/MR-2" in found  # on-demand without MFA
    assert "NWH-MAIN/CT-2" not in found  # on-demand with MFA
    assert "NWH-MAIN/MR-1" not in found  # always-on but MFA
    mr1 = asset(s, "NWH-MAIN/MR-1")
    mr1.remote_access_mfa = None  # unknown counts as missing
    assert "not recorded" in (observe(s, "RG-REMOTE-NO-MFA")["NWH-MAIN/MR-1"].summary or "")


def test_cloud_console_no_mfa(s: Session) -> None:
    found = observe(s, "RG-CLOUD-CONSOLE-NO-MFA")
    assert set(found) == {"NWH-MAIN/CLOUD-IMAGE-EXCHANGE", "NWH-MAIN/CLOUD-BACKUP"}
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/CLOUD-BACKUP").id, subject="console_mfa", value="yes",
                      attested_by="Cloud admin", attested_at=NOW, evidence_link="https://idp/policy/7"))
    assert set(observe(s, "RG-CLOUD-CONSOLE-NO-MFA")) == {"NWH-MAIN/CLOUD-IMAGE-EXCHANGE"}


def test_expired_attestation_no_longer_counts(s: Session) -> None:
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/CLOUD-BACKUP").id, subject="console_mfa", value="yes",
                      attested_by="Cloud admin", attested_at=NOW - timedelta(days=400),
                      expires_at=NOW - timedelta(days=35)))
    assert "NWH-MAIN/CLOUD-BACKUP" in observe(s, "RG-CLOUD-CONSOLE-NO-MFA")


def test_remote_sessions_unlogged_site_attestation(s: Session) -> None:
    found = observe(s, "RG-REMOTE-SESSION-UNLOGGED")
    assert set(found) == {"NWH-MAIN/TELERAD-GW", "NWH-MAIN/VENDOR-VPN", "NWH-OIC/OIC-HOME-READ-VPN"}
    s.add(Attestation(site_id=asset(s, "NWH-OIC/OIC-HOME-READ-VPN").site_id, subject="remote_sessions_logged",
                      value="yes", attested_by="SOC lead", attested_at=NOW))
    assert "NWH-OIC/OIC-HOME-READ-VPN" not in observe(s, "RG-REMOTE-SESSION-UNLOGGED")


def test_default_credentials(s: Session) -> None:
    assert observe(s, "RG-DEFAULT-CREDENTIALS") == {}  # nothing attested, nothing claimed
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/US-2").id, subject="default_credentials_changed", value="No",
                      attested_by="Biomed", attested_at=NOW))
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/US-1").id, subject="default_credentials_changed", value="yes",
                      attested_by="Biomed", attested_at=NOW))
    assert list(observe(s, "RG-DEFAULT-CREDENTIALS")) == ["NWH-MAIN/US-2"]
