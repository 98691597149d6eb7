"""The systemd units in deploy/systemd are valid, hardened, and call commands that exist.

Checked with systemd's own tools (``systemd-analyze verify`` and ``systemd-analyze security
--offline``, from Debian's systemd package that scripts/setup installs) on copies whose
``/opt/radguard/venv/bin/radguard`` (the sensor's: ``/opt/radguard-sensor/venv/bin/radguard``) is
this checkout's radguard, so verify can find the binary.
Every ExecStart is also run with ``--help`` appended: an option radguard does not have fails.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
RADGUARD = str(Path(sys.executable).with_name("radguard"))
ANALYZE = "/usr/bin/systemd-analyze"
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
CAPTURE = "radguard-capture@.service"  # the one unit that may capture raw packets


def _settings(text: str) -> dict[str, list[str]]:
    """KEY -> values, in order (continuation lines joined, comments dropped)."""
    out: dict[str, list[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("units")
    for unit in UNITS.iterdir():
        (d / unit.name).write_text(re.sub(r"/opt/radguard(-sensor)?/venv/bin/radguard", RADGUARD, unit.read_text()))
    return d


def test_units_verify_cleanly(copies: Path) -> None:
    units = sorted(str(p) for p in copies.iterdir())
    assert len(units) >= 7
    done = subprocess.run([ANALYZE, "verify", *units], capture_output=True, text=True, timeout=120)
    # unknown keys and bad values are warnings on stderr with exit status 0: both must be clean
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_hardened(copies: Path, name: str) -> None:
    s = _settings((copies / name).read_text())
    assert s["User"][0] not in ("", "root", "0") and s["Group"] == s["User"]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("RestrictSUIDSGID", "yes"),
                       ("UMask", "0077")):
        assert s.get(key) == [value], (name, key, s.get(key))
    caps = s["CapabilityBoundingSet"][-1].split()
    if name == CAPTURE:
        assert sorted(caps) == ["CAP_NET_ADMIN", "CAP_NET_RAW"] == sorted(s["AmbientCapabilities"][-1].split())
        assert "AF_PACKET" in s["RestrictAddressFamilies"][-1]
    else:
        assert caps == [] and s["AmbientCapabilities"] == [""], (name, caps)
        assert "AF_PACKET" not in s["RestrictAddressFamilies"][-1]
    # whatever a service writes is named: its state directory, or nothing at all
    for path in " ".join(s.get("ReadWritePaths", [])).split():
        assert path.lstrip("-").startswith(("/var/lib/radguard", "/srv/radguard")), (name, path)
    # systemd's own exposure score (0 best .. 10 worst): --threshold makes a regression fail
    limit = "2.5" if name == CAPTURE else "2"
    done = subprocess.run([ANALYZE, "security", "--offline=yes", f"--threshold={int(float(limit) * 10)}",
                           str(copies / name)], capture_output=True, text=True, timeout=120)
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert done.returncode == 0 and score and float(score.group(1)) <= float(limit), done.stdout[-2000:]


@pytest.mark.parametrize("name", SERVICES)
def test_exec_start_options_exist(copies: Path, name: str) -> None:
    argv = shlex.split(_settings((copies / name).read_text())["ExecStart"][0].replace("%i", "eth0"))
    assert argv[0] == RADGUARD
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(copies), "COLUMNS": "200"})
    assert done.returncode == 0, (argv, done.stderr[-2000:])
