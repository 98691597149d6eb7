"""Building the example Debian packages (scripts/build-deb) for the tests, and installing them into
a throwaway root with dpkg's own ``--root`` and ``--force-script-chrootless`` (the maintainer
scripts honour ``$DPKG_ROOT``), so nothing is installed on the machine itself.

The wheels come from a wheelhouse kept in the real user's cache, pinned to the versions this
test environment runs (``--constraint``); once it holds everything for the current pins the
build is offline.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pwd
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build-deb"
TARGET_PYTHON = "/usr/bin/python3"
NOT_PINNED = {"radguard", "pip", "setuptools", "wheel"}  # the build brings its own setuptools>=77


def constraints() -> str:
    """``name==version`` for every distribution of this test environment but radguard's own."""
    pins = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()
            if dist.metadata["Name"] and dist.metadata["Name"].lower() not in NOT_PINNED}
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def wheelhouse_key(pins: str) -> str:
    target = subprocess.run([TARGET_PYTHON, "-VV"], capture_output=True, text=True, check=True).stdout
    wanted = (ROOT / "deploy" / "sensor-requirements.txt").read_text() + "\n".join(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    return hashlib.sha256("\0".join([target, wanted, pins]).encode()).hexdigest()[:16]


def build_packages(out: Path, packages: list[str], revision: str = "1") -> dict[str, Path]:
    """Build ``packages`` into ``out`` (fast compression); their paths by package name."""
    cache = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "radguard-test-wheels"
    pins = constraints()
    cache.mkdir(parents=True, exist_ok=True)
    constraint = out / "constraints.txt"
    constraint.write_text(pins)
    marker = cache / f"complete-{wheelhouse_key(pins)}-{'-'.join(sorted(packages))}"
    argv = [sys.executable, str(BUILD), "--out", str(out), "--wheels", str(cache), "--constraint", str(constraint),
            "--compression", "gzip", "--level", "1", "--revision", revision]
    argv += ["--offline"] if marker.exists() else []
    for name in packages:
        argv += ["--package", name]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    marker.touch()
    built = {Path(line).name.split("_")[0]: Path(line) for line in done.stdout.split()}
    assert sorted(built) == sorted(packages), done.stdout
    return built


def new_root(path: Path) -> Path:
    """An empty root with an empty dpkg database."""
    (path / "var" / "lib" / "dpkg" / "info").mkdir(parents=True)
    (path / "var" / "lib" / "dpkg" / "updates").mkdir()
    (path / "var" / "lib" / "dpkg" / "status").touch()
    return path


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dpkg on ``root`` only: its database there, maintainer scripts run on the host with
    ``DPKG_ROOT=root`` (no chroot: the root has no shell); dependencies are not installed there."""
    done = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
                           "--log=/dev/null", *args], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


def status(root: Path, package: str) -> str:
    done = subprocess.run(["dpkg-query", f"--admindir={root / 'var/lib/dpkg'}", "-W", "-f=${Status} ${Version}",
                           package], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "not-installed"


def with_version(deb: Path, version: str, out: Path) -> Path:
    """The same package with another version (an upgrade to test), repacked with dpkg-deb."""
    tree = out / f"tree-{version}"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    control.write_text("".join(f"Version: {version}\n" if line.startswith("Version:") else line
                               for line in control.read_text().splitlines(keepends=True)))
    new = out / deb.name.replace(deb.name.split("_")[1], version)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(tree), str(new)], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    return new


def run_installed(root: Path, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as installed: the root's /opt is bind-mounted on /opt in a private mount
    namespace of this command only, so the venv's own ``#!`` paths (/opt/...) are the ones used."""
    script = f'mount --bind "{root / "opt"}" /opt && exec "$@"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv],
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8", "COLUMNS": "200"})
