"""Report charts as inline SVG, readable when printed in black and white.

Each chart has a title and labelled axes with units; series are told apart by hatching and
direct value labels, never by colour alone. Text stays text in the SVG (searchable, and sharp
in the PDF). Output is deterministic so reports can be compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "radguard",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "hatch.linewidth": 0.8,
    }
)

HATCHES = ("////", "xx", "\\\\", "..", "", "--", "++", "oo")
GREYS = ("#222222", "#555555", "#888888", "#bbbbbb", "#ffffff")


def _svg(fig: Figure, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "radguard"})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Give each chart its own id prefix so several inline SVGs never share clip-path ids.
    prefix = re.sub(r"[^a-z0-9]", "", label.lower())[:48] or "chart"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}-{m.group(1)}"', text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str, horizontal: bool = True) -> str:
    """One series of counts; bars hatched in turn so neighbours differ in grey print."""
    height = max(1.6, 0.32 * len(labels) + 0.9) if horizontal else 2.6
    fig, ax = plt.subplots(figsize=(6.2, height))
    pos = list(range(len(labels)))
    hatches = [HATCHES[i % len(HATCHES)] for i in pos]
    if horizontal:
        bars = ax.barh(pos, values, color="white", edgecolor="black", hatch=hatches)
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
    else:
        bars = ax.bar(pos, values, color="white", edgecolor="black", hatch=hatches)
        ax.set_xticks(pos, labels)
        ax.set_ylabel(unit)
    ax.bar_label(bars, labels=[f"{v:g}" for v in values], padding=3)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.margins(x=0.12) if horizontal else ax.margins(y=0.15)
    return _svg(fig, title)


def maturity_chart(
    title: str,
    domains: Sequence[str],
    current: Sequence[float | None],
    target: Sequence[float | None],
    previous: Sequence[float | None] | None = None,
) -> str:
    """Current maturity as hatched bars, the target as a black tick, the previous score as a hollow dot."""
    fig, ax = plt.subplots(figsize=(6.4, max(2.0, 0.34 * len(domains) + 1.0)))
    pos = list(range(len(domains)))
    cur = [c or 0 for c in current]
    bars = ax.barh(pos, cur, color="#dddddd", edgecolor="black", hatch="////", label="Current")
    ax.bar_label(bars, labels=["n/a" if c is None else f"{c:.1f}" for c in current], padding=3, fontsize=8)
    t_pos = [p for p, t in zip(pos, target, strict=True) if t is not None]
    ax.scatter(
        [t for t in target if t is not None],
        t_pos,
        marker="|",
        s=260,
        linewidths=2.5,
        color="black",
        label="Target",
        zorder=3,
    )
    if previous is not None and any(p is not None for p in previous):
        p_pos = [p for p, v in zip(pos, previous, strict=True) if v is not None]
        ax.scatter(
            [v for v in previous if v is not None],
            p_pos,
            marker="o",
            s=28,
            facecolors="white",
            edgecolors="black",
            label="Previous",
            zorder=4,
        )
    ax.set_yticks(pos, domains)
    ax.invert_yaxis()
    ax.set_xlim(0, 4.4)
    ax.set_xticks(range(5))
    ax.set_xlabel("Maturity level (0 not performed – 4 optimized)")
    ax.set_title(title, loc="left", fontweight="bold")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return _svg(fig, title)


def stacked_status_chart(
    title: str, rows: Sequence[str], statuses: Sequence[str], counts: Sequence[Sequence[int]], *, unit: str
) -> str:
    """One horizontal bar per framework, split by coverage status, each status with its own hatch."""
    fig, ax = plt.subplots(figsize=(6.4, max(1.8, 0.45 * len(rows) + 1.2)))
    left = [0] * len(rows)
    styles = [("#444444", ""), ("#ffffff", "////"), ("#ffffff", "xx"), ("#ffffff", "")]
    for i, status in enumerate(statuses):
        vals = [c[i] for c in counts]
        colour, hatch = styles[i % len(styles)]
        bars = ax.barh(rows, vals, left=left, color=colour, edgecolor="black", hatch=hatch, label=status)
        ax.bar_label(
            bars,
            labels=[str(v) if v else "" for v in vals],
            label_type="center",
            fontsize=7,
            color="white" if colour == "#444444" else "black",
        )
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.legend(ncols=len(statuses), loc="upper center", bbox_to_anchor=(0.5, -0.28), fontsize=8, frameon=False)
    return _svg(fig, title)
