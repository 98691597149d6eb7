"""Time building and rendering the reports and exports for the sample organization.

Usage: .venv/bin/python -m benchmarks.reports_render [--repeat N]

Builds Northwind Health (inventory, team, services, drills, feeds fixtures, assessment, two
checklist versions) in a temporary SQLite database, then times each report (data assembly +
charts + HTML, and WeasyPrint PDF) and each export. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from tests.reports.northwind import populate

from radguard.db.session import open_database
from radguard.reports.build import build_report
from radguard.reports.exports.oscal import build_oscal
from radguard.reports.exports.tables import EXPORTS, to_csv
from radguard.reports.render import render_html, render_pdf
from radguard.reports.scope import Scope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'radguard.db'}"
        populate(url)
        db = open_database(url)
        rows: list[tuple[str, float, str]] = []
        with db.read() as session:
            for audience in ("executive", "technical"):
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    report = build_report(session, audience)  # type: ignore[arg-type]
                    html = render_html(report)
                    t1 = time.perf_counter()
                    pdf = render_pdf(report)
                    t2 = time.perf_counter()
                out = Path(tmp) / f"{audience}.pdf"
                out.write_bytes(pdf)
                info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
                pages = next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))
                rows.append((f"{audience} HTML (data + charts + HTML)", t1 - t0, f"{len(html) // 1024} KiB"))
                rows.append((f"{audience} PDF (WeasyPrint only)", t2 - t1, f"{len(pdf) // 1024} KiB, {pages} pages"))
            t0 = time.perf_counter()
            docs = build_oscal(Scope(session))
            n = len(docs.poam.poam_items)
            rows.append(("OSCAL AR + POA&M (build + validate)", time.perf_counter() - t0, f"{n} POA&M items"))
            for kind, (columns, records_of) in EXPORTS.items():
                t0 = time.perf_counter()
                records = records_of(Scope(session))
                to_csv(columns, records)
                rows.append((f"{kind} CSV", time.perf_counter() - t0, f"{len(records)} rows"))
        db.dispose()
    print("| step | seconds | output |\n|---|---|---|")
    for name, seconds, what in rows:
        print(f"| {name} | {seconds:.2f} | {what} |")


if __name__ == "__main__":
    main()
