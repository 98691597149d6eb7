"""What radguard's parser makes of every product tree in a CSAF corpus (not a test).

Run: ``.venv/bin/python benchmarks/feeds_corpus.py`` reads the advisories shipped in the
repository (the demo's samples and the test fixtures); give a full corpus by path with
``--feeds DIR...``, e.g. a checkout of cisagov/CSAF ``csaf_files/OT/white/``.

Parses every file exactly as ``radguard feeds import`` does, reports files that fail (none
should), and counts how each product entry's version text was interpreted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from radguard.errors import InputError
from radguard.feeds.importer import collect_files, parse_bytes

ROOT = Path(__file__).resolve().parent.parent
# Feeds that ship with the repository, so the script runs in any clone.
SHIPPED_FEEDS = [ROOT / "src" / "radguard" / "demo" / "data", ROOT / "tests" / "fixtures" / "feeds"]


def main(paths: list[str]) -> int:
    files = collect_files([Path(p) for p in paths])
    started = time.perf_counter()
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    failures: list[str] = []
    products = vulns = statuses = 0
    keyless = 0
    for path in files:
        try:
            feed = parse_bytes(path.read_bytes(), path.name)
        except InputError as exc:
            failures.append(str(exc))
            continue
        except Exception as exc:  # a crash is a parser bug: report it, keep going
            failures.append(f"{path.name}: CRASH {type(exc).__name__}: {exc}")
            continue
        for adv in feed.advisories:
            vulns += len(adv.vulnerabilities)
            statuses += sum(len(v.product_status) for v in adv.vulnerabilities)
            for p in adv.products:
                products += 1
                keyless += not p.keys
                kind = p.spec.kind + (" with condition" if p.spec.condition else "")
                if p.name_version:
                    kind += " (+ version in product name)"
                kinds[kind] += 1
                if p.spec.why:
                    reasons[p.spec.why.split("'")[-1].strip() or p.spec.why] += 1
    elapsed = time.perf_counter() - started
    print(f"files: {len(files)}, failed: {len(failures)}, parse time: {elapsed:.2f} s")
    print(f"products: {products}, vulnerabilities: {vulns}, product statuses: {statuses}, without keys: {keyless}")
    for kind, n in kinds.most_common():
        print(f"  {kind}: {n}")
    print("why unparseable:")
    for why, n in reasons.most_common():
        print(f"  {why}: {n}")
    for f in failures:
        print("FAILED", f)
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", nargs="+", metavar="DIR", default=[str(p) for p in SHIPPED_FEEDS],
                        help="feed files or directories of *.json (default: the feeds shipped in the repository)")
    sys.exit(main(parser.parse_args().feeds))
