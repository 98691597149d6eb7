"""The example Debian packages built by scripts/build-deb: their metadata, files and maintainer
scripts, lintian, and a whole life cycle (install, upgrade keeping a local edit, remove, purge) in
a throwaway root (dpkg ``--root`` with ``--force-script-chrootless``), never on the machine itself.

The installed sensor is run from the installed tree: the root's /opt is bind-mounted on /opt in
a private mount namespace of that one command, so the venv's own ``#!`` lines are used.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.ops.debian import ROOT, dpkg, new_root, run_installed, status, with_version

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
PYTHON_MINOR = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
                              capture_output=True, text=True, check=True).stdout.strip()
CENTRAL_ONLY = ("fastapi", "weasyprint", "psycopg", "alembic", "matplotlib", "uvicorn", "jinja2")


def info(deb: Path) -> dict[str, str]:
    out = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(": ")
            fields[key] = value
    return fields


def contents(deb: Path) -> dict[str, str]:
    """Installed path -> mode string, from ``dpkg-deb --contents``."""
    out = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    files = {}
    for line in out.splitlines():
        parts = line.split()
        files[parts[5].removeprefix(".").rstrip("/") or "/"] = parts[0]
    return files


def control_file(deb: Path, name: str) -> str:
    return subprocess.run(["sh", "-c", f'dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./{name}', "sh", str(deb)],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", ["radguard-sensor", "radguard"])
def test_package_metadata(debs: dict[str, Path], name: str, tmp_path: Path) -> None:
    deb = debs[name]
    fields = info(deb)
    assert fields["Package"] == name and fields["Version"] == f"{VERSION}-1" and fields["Architecture"] == ARCH
    depends = [d.strip() for d in fields["Depends"].split(",")]
    # the venv links to Debian's interpreter of exactly this minor version; wheels need glibc
    assert f"python{PYTHON_MINOR}" in depends and "systemd" in depends, depends
    assert any(re.fullmatch(r"libc6 \(>= 2\.\d+\)", d) for d in depends), depends
    assert int(fields["Installed-Size"]) > 1000
    assert all(len(line) <= 80 for line in subprocess.run(["dpkg-deb", "-f", str(deb), "Description"],
                                                          capture_output=True, text=True).stdout.splitlines())
    files = contents(deb)
    prefix = "/opt/radguard-sensor" if name == "radguard-sensor" else "/opt/radguard"
    assert files[f"{prefix}/venv/bin/radguard"].startswith("-rwxr-xr-x")
    assert f"/usr/lib/sysusers.d/{name}.conf" in files and f"/usr/share/doc/{name}/copyright" in files
    assert not [f for f in files if "__pycache__" in f], "bytecode is compiled by postinst, not shipped"
    units = sorted(f.rsplit("/", 1)[1] for f in files if f.startswith("/lib/systemd/system/") and "." in f)
    conffiles = control_file(deb, "conffiles").split()
    # every /etc file is a conffile (an upgrade keeps local edits); secrets are root-only
    assert sorted(conffiles) == sorted(f for f in files if f.startswith("/etc/") and files[f][0] == "-")
    for script in ("postinst", "prerm", "postrm"):
        text = control_file(deb, script)
        assert text.startswith("#!/bin/sh\n") and "set -e" in text and "@" not in text.replace("@.", ""), script
    site = f"{prefix}/venv/lib/python{PYTHON_MINOR}/site-packages"
    if name == "radguard-sensor":
        assert units == ["radguard-sensor.service"]
        assert sorted(conffiles) == ["/etc/radguard/local-scope.yaml", "/etc/radguard/sensor.env"]
        assert files["/etc/radguard/sensor.env"] == "-rw-------"
        # the sensor alone: nothing of the web app, reports or the database server's driver
        assert not [f for f in files if f.split("/")[-1] in CENTRAL_ONLY and f.startswith(f"{site}/")]
        assert f"{site}/celery" in files and f"{site}/pynetdicom" in files
    else:
        assert units == sorted(["radguard-web.service", "radguard-central-worker.service", "radguard-schedule.service",
                                "radguard-schedule.timer", "radguard-capture@.service", "radguard-capture@.timer"])
        assert conffiles == ["/etc/radguard/central.env"] and files["/etc/radguard/central.env"] == "-rw-------"
        assert all(f"{site}/{module}" in files for module in CENTRAL_ONLY)
    # the units shipped are the repository's, pointing at this package's venv
    subprocess.run(["sh", "-c", 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./lib/systemd/system', "sh",
                    str(deb), str(tmp_path)], check=True)
    for unit in units:
        text = (tmp_path / "lib/systemd/system" / unit).read_text()
        assert text == (ROOT / "deploy" / "systemd" / unit).read_text()
        if unit.endswith(".service"):
            assert f"ExecStart={prefix}/venv/bin/radguard " in text


def test_lintian_finds_no_error_in_the_sensor_package(debs: dict[str, Path]) -> None:
    """Lintian on the sensor package (about a minute); the central package shares its scripts and
    build, and takes lintian several minutes, so it is checked by hand (docs/deployment.md)."""
    done = subprocess.run(["/usr/bin/lintian", "--tag-display-limit", "0", str(debs["radguard-sensor"])],
                          capture_output=True, text=True, timeout=900)
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert not errors and done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_sensor_install_upgrade_remove_purge(debs: dict[str, Path], tmp_path: Path) -> None:
    root = new_root(tmp_path / "root")
    host_passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    deb = debs["radguard-sensor"]

    dpkg(root, "--install", str(deb))
    assert status(root, "radguard-sensor") == f"install ok installed {VERSION}-1"
    # postinst made the system user in the root's own account files (systemd-sysusers --root)
    [user] = [line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
              if line.startswith("radguard-sensor:")]
    assert user[5:] == ["/var/lib/radguard-sensor", "/usr/sbin/nologin"] and int(user[2]) < 1000
    assert "radguard-sensor:" in (root / "etc/group").read_text()
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == host_passwd  # the machine untouched
    # postinst compiled the bytecode with the installed paths in it
    venv = root / "opt/radguard-sensor/venv"
    pyc = next((venv / f"lib/python{PYTHON_MINOR}/site-packages/radguard/__pycache__").glob("console.*.pyc"))
    compiled = subprocess.run(["/usr/bin/python3", "-c", "import marshal, sys; "
                               "print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)", str(pyc)],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert compiled == f"/opt/radguard-sensor/venv/lib/python{PYTHON_MINOR}/site-packages/radguard/console.py"
    # nothing is started or enabled: no unit is wanted by any target
    assert not list(root.glob("etc/systemd/system/*.wants/*"))

    # the installed sensor runs from the installed tree, with only the sensor's packages
    version = run_installed(root, ["/opt/radguard-sensor/venv/bin/radguard", "--version"])
    assert version.returncode == 0 and version.stdout.strip() == f"radguard {VERSION}", version.stderr
    helped = run_installed(root, ["/opt/radguard-sensor/venv/bin/radguard", "sensor", "run", "--help"])
    assert helped.returncode == 0 and "--scope" in helped.stdout and "--spool" in helped.stdout, helped.stderr
    probe = ("import importlib.util, sys\n"
             "from radguard.discovery.scope import load_scope\n"
             "scope = load_scope(__import__('pathlib').Path(sys.argv[1]))\n"
             "print(sys.prefix, scope.doc.window.end.year, scope.doc.targets,\n"
             "      [m for m in ('fastapi', 'weasyprint', 'psycopg') if importlib.util.find_spec(m)])\n")
    checked = run_installed(root, ["/opt/radguard-sensor/venv/bin/python", "-c", probe,
                                   str(root / "etc/radguard/local-scope.yaml")])
    # the sample scope is valid and authorizes nothing: a window long over, a documentation network
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split(None, 1) == ["/opt/radguard-sensor/venv", "2000 ['192.0.2.0/24'] []\n"]

    # a local edit of a conffile and data in the state directory, then an upgrade
    scope = root / "etc/radguard/local-scope.yaml"
    edited = scope.read_text().replace("max_level: 1", "max_level: 2") + "# edited on this sensor\n"
    scope.write_text(edited)
    spool = root / "var/lib/radguard-sensor/spool"
    spool.mkdir(parents=True)
    (spool / "job-1.json").write_text("{}")
    dpkg(root, "--install", str(with_version(deb, f"{VERSION}-2", tmp_path)))
    assert status(root, "radguard-sensor") == f"install ok installed {VERSION}-2"
    assert scope.read_text() == edited and yaml.safe_load(edited)["max_level"] == 2
    assert (spool / "job-1.json").exists() and pyc.exists()

    # remove: the program goes (and the bytecode postinst made), configuration and data stay
    dpkg(root, "--remove", "radguard-sensor")
    assert status(root, "radguard-sensor") == f"deinstall ok config-files {VERSION}-2"
    assert not (root / "opt/radguard-sensor").exists()
    assert not (root / "lib/systemd/system/radguard-sensor.service").exists()
    assert scope.read_text() == edited and (spool / "job-1.json").exists()

    # purge: the conffiles and the sensor's data go; the system user stays (Debian's practice)
    dpkg(root, "--purge", "radguard-sensor")
    assert status(root, "radguard-sensor").endswith(("not-installed", f"not-installed {VERSION}-2"))
    assert not scope.exists() and not (root / "etc/radguard/sensor.env").exists()
    assert not (root / "var/lib/radguard-sensor").exists()
    assert "radguard-sensor:" in (root / "etc/passwd").read_text()
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == host_passwd


def test_central_package_runs_from_its_tree(debs: dict[str, Path], tmp_path: Path) -> None:
    """Central's venv, unpacked (its maintainer scripts are the sensor's, tested above), runs
    every command its units start."""
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(debs["radguard"]), str(root)], check=True)
    radguard = "/opt/radguard/venv/bin/radguard"
    version = run_installed(root, [radguard, "--version"])
    assert version.returncode == 0 and version.stdout.strip() == f"radguard {VERSION}", version.stderr
    for argv in (["serve", "--help"], ["sensor", "central-worker", "--help"], ["schedule", "tick", "--help"],
                 ["passive", "capture", "--help"]):
        done = run_installed(root, [radguard, *argv])
        assert done.returncode == 0, (argv, done.stderr[-2000:])
    imported = run_installed(root, ["/opt/radguard/venv/bin/python", "-c",
                                    "import radguard.web.app, weasyprint, psycopg, sys; print(sys.prefix)"])
    assert imported.returncode == 0 and imported.stdout.strip() == "/opt/radguard/venv", imported.stderr[-2000:]
