"""A sensor-only install (deploy/sensor-requirements.txt) is enough for everything a sensor does.

The child process makes every other dependency of pyproject.toml unimportable, then runs the
sensor's CLI help, a real discovery job (level 2 against a pynetdicom SCP), a backup
verification job and the signing — so a new import on the sensor's path fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# distribution name → the module it provides, where they differ
MODULES = {"pyyaml": "yaml", "python-multipart": "multipart", "argon2-cffi": "argon2", "compliance-trestle": "trestle",
           "cyclonedx-python-lib": "cyclonedx", "spdx-tools": "spdx_tools", "packageurl-python": "packageurl",
           "psycopg[binary]": "psycopg", "uvicorn[standard]": "uvicorn", "celery[redis]": "celery",
           "jinja2": "jinja2"}


def _names(lines: list[str]) -> set[str]:
    out = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower())
    return out


CHILD = r'''
import importlib.abc, json, socket, sys, tempfile, threading
from pathlib import Path
BLOCKED = set(sys.argv[1].split(","))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not in the sensor's requirements")
        return None

sys.meta_path.insert(0, Block())
tmp = Path(sys.argv[2])
from radguard.cli.main import run
try:
    run(["sensor", "run", "--help"])
except SystemExit as exc:
    assert not exc.code, exc.code
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification
scp = AE()
scp.add_supported_context(Verification)
server = scp.start_server(("127.0.0.1", 0), block=False)
port = server.server_address[1]
import yaml
from datetime import UTC, datetime, timedelta
now = datetime.now(UTC)
(tmp / "archive" / "src").mkdir(parents=True)
(tmp / "scope.yaml").write_text(yaml.safe_dump({"authorized_by": "Dana Whitfield, CISO", "reason": "CHG-1",
    "window": {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=1)).isoformat()},
    "targets": ["127.0.0.1/32"], "max_level": 2, "backup_paths": [str(tmp / "archive")]}))
from radguard.discovery.scope import load_scope
from radguard.distributed.sensor import SensorRuntime, run_job
from radguard.distributed.signing import new_credentials
from radguard.distributed.spool import Spool
from radguard.backup.run import build_manifest
from radguard.backup.scan import ScanOptions
build_manifest(tmp / "archive" / "src", tmp / "archive" / "m.jsonl", ScanOptions(workers=1),
               state_directory=tmp / "state")
rt = SensorRuntime(new_credentials("NORTH"), load_scope(tmp / "scope.yaml"), Spool(tmp / "spool"))
done = run_job(rt, {"job_id": "j1", "site": "NORTH", "kind": "discover", "targets": ["127.0.0.1"],
                    "ports": [port], "level": 2, "rate": 10})
backup = run_job(rt, {"job_id": "j2", "site": "NORTH", "kind": "backup", "backup": str(tmp / "archive" / "src"),
                      "manifest": str(tmp / "archive" / "m.jsonl")})
server.shutdown()
print(json.dumps({"discover": done["body"]["status"], "echo": done["body"]["endpoints"][0]["doc"].get("dicom"),
                  "backup": backup["body"]["status"], "reason": backup["body"].get("reason")}))
'''


def test_sensor_runs_with_only_its_requirements(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    sensor = _names((ROOT / "deploy" / "sensor-requirements.txt").read_text().splitlines())
    blocked = {MODULES.get(name, name.replace("-", "_")) for name in _names(project) - sensor}
    assert {"fastapi", "weasyprint", "psycopg", "alembic", "matplotlib"} <= blocked
    out = subprocess.run([sys.executable, "-c", CHILD, ",".join(sorted(blocked)), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["discover"] == "done" and result["echo"], result
    assert result["backup"] == "done", result
