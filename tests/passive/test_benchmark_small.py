"""The passive benchmark script itself runs (tiny size): it must keep working between runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.passive.conftest import Traffic

ROOT = Path(__file__).resolve().parents[2]


def test_passive_benchmark_tiny(traffic: Traffic) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "passive_read.py"), "--megabytes", "1",
                           "--source", str(traffic.pcap)], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    assert result["capture_mb"] >= 1 and result["dicom_conversations"] >= 4
    assert result["radguard_s"] > 0 and result["tshark_s"] > 0 and result["radguard_peak_rss_mib"] > 10
