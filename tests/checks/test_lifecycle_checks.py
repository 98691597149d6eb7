"""Positive and negative cases for catalog/lifecycle.yaml and the OS end-of-support data."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from radguard.checks.evaluators.lifecycle import os_table
from tests.checks.conftest import asset, observe


@pytest.mark.parametrize(("os_name", "os_version", "expected"), [
    ("Windows", "XP Embedded", date(2019, 4, 9)),
    ("Windows", "XP Professional", date(2014, 4, 8)),
    ("Windows", "7 Embedded", date(2020, 10, 13)),
    ("Windows", "7 Professional", date(2020, 1, 14)),
    ("Windows", "8.1", date(2023, 1, 10)),
    ("Windows", "10 Enterprise 22H2", date(2025, 10, 14)),
    ("Windows", "10 Enterprise 2016 LTSB", date(2026, 10, 13)),
    ("Windows", "10 IoT Enterprise LTSC 2019", date(2029, 1, 9)),
    ("Windows", "10 Enterprise LTSC 2021", date(2027, 1, 12)),
    ("Windows", "10 IoT Enterprise LTSC 2021", date(2032, 1, 13)),
    ("Windows Server", "2003 R2", date(2015, 7, 14)),
    ("Windows", "Server 2008 R2", date(2020, 1, 14)),
    ("Windows", "Server 2012 R2", date(2023, 10, 10)),
    ("Linux", "CentOS 7", date(2024, 6, 30)),
    ("Linux", "Red Hat Enterprise Linux 6.10", date(2020, 11, 30)),
    ("RHEL", "8.6", date(2029, 5, 31)),
    ("Linux", "Ubuntu 20.04", date(2025, 5, 31)),
    ("Linux", "Debian 12", date(2028, 6, 30)),
])
def test_os_table_matches_editions(os_name: str, os_version: str, expected: date) -> None:
    entry = os_table().match(os_name, os_version)
    assert entry is not None and entry.end == expected


def test_os_table_unknown_os() -> None:
    assert os_table().match("VxWorks", "6.9") is None
    assert os_table().match(None, None) is None


def test_os_unsupported(s: Session) -> None:
    found = observe(s, "RG-OS-UNSUPPORTED")
    assert found["NWH-MAIN/CT-ED-1"].evidence["matched"] == "Windows 7"
    assert found["NWH-MAIN/PETCT-1"].evidence["end_of_support"] == date(2017, 3, 31)  # RHEL 5
    assert "NWH-MAIN/CT-2" not in found  # Windows 10 IoT Enterprise LTSC 2019: supported to 2029
    assert "NWH-MAIN/DICOM-ROUTER" not in found  # Debian 12


def test_eos_near(s: Session) -> None:
    found = observe(s, "RG-EOS-NEAR")
    assert "NWH-MAIN/US-2" in found  # ended 2013
    assert found["NWH-MAIN/CT-ED-1"].evidence["days_left"] < 0  # ended 2026-06-30
    assert found["NWH-MAIN/MR-2"].evidence["days_left"] == 313  # ends 2027-09-30: within three years
    assert "NWH-MAIN/CT-2" not in found  # 2031
    assert "NWH-MAIN/XA-CATH-1" not in found  # 2032
    wider = observe(s, "RG-EOS-NEAR", settings={"parameters": {"eos_near_years": 6}})
    assert "NWH-MAIN/CT-2" in wider


def test_eos_unknown(s: Session) -> None:
    found = observe(s, "RG-EOS-UNKNOWN")
    assert set(found) >= {"NWH-MAIN/AI-TRIAGE", "NWH-OIC/OIC-MINIPACS"}
    assert "NWH-MAIN/CT-ED-1" not in found
    assert "NWH-MAIN/DICOM-ROUTER" not in found  # integration engine: not a medical device


def test_os_unknown(s: Session) -> None:
    found = observe(s, "RG-OS-UNKNOWN")
    assert set(found) == {"NWH-MAIN/AI-TRIAGE", "NWH-MAIN/AI-MAMMO-CAD"}
    target = asset(s, "NWH-MAIN/AI-TRIAGE")
    target.os_name = "Linux"
    assert "NWH-MAIN/AI-TRIAGE" not in observe(s, "RG-OS-UNKNOWN")
