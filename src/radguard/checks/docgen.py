"""Render the check catalog as Markdown for docs/checks.md.

Run ``python -m radguard.checks.docgen > docs/checks.md`` after changing any catalog file, so
the published catalog is exactly what radguard evaluates.
"""

from __future__ import annotations

from collections import Counter

from radguard.checks.loader import Catalog, default_catalog

INTRO = """# Check catalog

radguard evaluates every check below on each `radguard assess`. A check is a YAML entry in
`src/radguard/checks/catalog/<area>.yaml` plus a small evaluator in
`src/radguard/checks/evaluators/<area>.py`; the loader refuses a catalog where either is missing.
IDs are stable: integrations (SIEM rules, tickets, reports) may rely on them.

Columns: **severity** (critical, high, medium, low, info) sets the SLA and weighs the risk score
(see [findings.md](findings.md)); **type** is the safeguard type (technical, administrative,
physical); **layer** is the defense layer; **evidence** says what the check reads — `probe`
(discovery results stored as evidence), `inventory`, `attestation` (a person's recorded answer,
`radguard attest`), `feed` (advisories, end-of-life data), `document` (MDS2, SBOM) or
`readiness` (drills, team, backups). Framework columns list NIST CSF 2.0 subcategories, HHS 405(d)
HICP sub-practices, HPH Cybersecurity Performance Goals (E = essential, X = enhanced) and HIPAA
Security Rule citations (45 CFR).

`radguard checks list` prints the same table; `radguard checks show ID` prints one check with its
description, rationale, remediation and references.

This file is generated: `python -m radguard.checks.docgen > docs/checks.md`.
"""


def _cell(values: list[str]) -> str:
    return ", ".join(values).replace("|", "\\|")


def render_markdown(catalog: Catalog) -> str:
    lines = [INTRO]
    by_file = Counter(entry.source.name for entry in catalog)
    lines.append(f"{len(catalog)} checks in {len(by_file)} files: "
                 + ", ".join(f"`{name}` ({count})" for name, count in sorted(by_file.items())) + ".\n")
    current = None
    for entry in sorted(catalog, key=lambda e: (e.source.name, e.spec.id)):
        if entry.source.name != current:
            current = entry.source.name
            lines.append(f"\n## {current.removesuffix('.yaml')}\n")
            lines.append("| ID | Title | Applies to | Severity | Type | Layer | Evidence "
                         "| CSF 2.0 | HICP | HPH CPG | HIPAA |")
            lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        s = entry.spec
        f = s.frameworks
        lines.append(f"| `{s.id}` | {s.title} | {_cell(list(s.scope))} | {s.severity} | {s.safeguard_type} | "
                     f"{s.defense_layer.replace('_', ' ')} | {_cell(list(s.evidence_kind))} | {_cell(f.csf2)} | "
                     f"{_cell(f.hicp)} | {_cell(f.hph_cpg)} | {_cell(f.hipaa)} |")
    lines.append("\n## What each check looks at\n")
    for entry in sorted(catalog, key=lambda e: e.spec.id):
        s = entry.spec
        lines.append(f"- **`{s.id}`** — {s.description.strip()} *Fix:* {s.remediation.strip()}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(default_catalog()), end="")
