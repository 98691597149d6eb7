"""Benchmark: CLI start-up, which every command pays (#18 goal: `radguard --version` < 0.2 s).

Runs ``radguard --version`` and ``radguard COMMAND --help`` for every command in
radguard.cli.main.COMMANDS, ``--runs`` times each in turn (interleaved), through the installed
``.venv/bin/radguard`` entry point, and prints the median and best wall time of each with the
load average. ``--help`` of a command imports that command's module, so its time is the
start-up the command itself pays before doing any work. Two references run in the same rounds:
the bare interpreter (``python -c pass``, the floor) and ``--version`` through the whole
command line (``python -m radguard.cli.main --version``, Typer and Rich loaded: what the console
script did before ``radguard.console`` answered it first). Not run in CI.

Usage: .venv/bin/python benchmarks/cli_startup.py [--runs 11] [--only TEXT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from radguard.cli.main import COMMANDS

RADGUARD = str(Path(sys.executable).with_name("radguard"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only the cases whose name contains TEXT (repeatable)")
    args = parser.parse_args()
    cases = {"python -c pass": [sys.executable, "-c", "pass"], "--version": [RADGUARD, "--version"],
             "--version through the command line": [sys.executable, "-m", "radguard.cli.main", "--version"],
             **{f"{name} --help": [RADGUARD, name, "--help"] for name in COMMANDS}}
    cases = {name: argv for name, argv in cases.items() if not args.only or any(t in name for t in args.only)}
    times: dict[str, list[float]] = {name: [] for name in cases}
    before = os.getloadavg()
    for _ in range(args.runs):
        for name, argv in cases.items():
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    print(json.dumps({
        "runs": args.runs, "loadavg_before": [round(x, 2) for x in before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": {name: {"median": round(statistics.median(t), 3), "best": round(min(t), 3)}
                    for name, t in times.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
