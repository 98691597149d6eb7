"""Report charts as inline SVG, readable when printed in black and white.

Each chart has a title and labelled axes with units. A single series is one plain grey with a
value label on each bar; several series (stacked coverage, maturity against target) are told
apart by hatching, markers and a legend, never by colour alone. Every chart uses one font family
and the size scale below (title, axis label, tick and value label, small annotation), so charts
look alike side by side. Text stays text in the SVG (searchable, and sharp in the PDF). Output
is deterministic so reports can be compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

FONT_FAMILY = "DejaVu Sans"
#: The one size scale (points) for every chart: title, axis label, tick/value/legend, small annotation.
TITLE_SIZE, LABEL_SIZE, TEXT_SIZE, SMALL_SIZE = 10.0, 9.0, 8.0, 7.0
FONT_SIZES = (TITLE_SIZE, LABEL_SIZE, TEXT_SIZE, SMALL_SIZE)
#: A single series' bars: a mid grey dark enough that white value labels inside pass WCAG AA (7.5:1).
BAR_FILL = "#555555"
#: A value label goes inside its bar (white) when the bar is at least this share of the axis span.
INSIDE_SHARE = 0.18

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "radguard",
        "font.family": FONT_FAMILY,
        "font.size": TEXT_SIZE,
        "axes.titlesize": TITLE_SIZE,
        "axes.titleweight": "bold",
        "axes.labelsize": LABEL_SIZE,
        "xtick.labelsize": TEXT_SIZE,
        "ytick.labelsize": TEXT_SIZE,
        "legend.fontsize": TEXT_SIZE,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "hatch.linewidth": 0.8,
    }
)



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
    """One series of counts in one plain grey: hatching would suggest series that are not there.

    Each value is written on its bar: inside in white when the bar is long enough to hold it,
    else just past its end in black, so no label sits half over a bar edge.
    """
    height = max(1.6, 0.32 * len(labels) + 0.9) if horizontal else 2.6
    fig, ax = plt.subplots(figsize=(6.2, height))
    pos = list(range(len(labels)))
    if horizontal:
        bars = ax.barh(pos, values, color=BAR_FILL, edgecolor="black", linewidth=0.6)
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        ax.margins(x=0.08)
    else:
        bars = ax.bar(pos, values, color=BAR_FILL, edgecolor="black", linewidth=0.6)
        ax.set_xticks(pos, labels)
        ax.set_ylabel(unit)
        ax.margins(y=0.12)
    span = max([float(v) for v in values] + [1.0])
    inside = [float(v) >= INSIDE_SHARE * span for v in values]
    texts = [f"{v:g}" for v in values]
    within = ax.bar_label(bars, labels=[t if i else "" for t, i in zip(texts, inside, strict=True)],
                          label_type="center", color="white", fontsize=TEXT_SIZE)
    beyond = ax.bar_label(bars, labels=["" if i else t for t, i in zip(texts, inside, strict=True)],
                          label_type="edge", padding=3, color="black", fontsize=TEXT_SIZE)
    # Ids in the SVG (bar-N, value-N, plot) let tests check where each label landed.
    ax.patch.set_gid("plot")
    for n, (bar, a, b, i) in enumerate(zip(bars, within, beyond, inside, strict=True)):
        bar.set_gid(f"bar-{n}")
        (a if i else b).set_gid(f"value-{n}")
        (b if i else a).set_visible(False)
    ax.set_title(title, loc="left")
    return _svg(fig, title)


def maturity_chart(
    title: str,
    domains: Sequence[str],
    current: Sequence[float | None],
    target: Sequence[float | None],
    previous: Sequence[float | None] | None = None,
) -> str:
    """Current maturity as light grey bars, the target as a black tick, the previous score as a hollow dot."""
    fig, ax = plt.subplots(figsize=(6.4, max(2.0, 0.34 * len(domains) + 1.0)))
    pos = list(range(len(domains)))
    cur = [c or 0 for c in current]
    bars = ax.barh(pos, cur, color="#cccccc", edgecolor="black", linewidth=0.6, label="Current")
    ax.bar_label(bars, labels=["n/a" if c is None else f"{c:.1f}" for c in current], padding=3, fontsize=TEXT_SIZE)
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
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", frameon=True)
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
            fontsize=SMALL_SIZE,
            color="white" if colour == "#444444" else "black",
        )
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title, loc="left")
    ax.legend(ncols=len(statuses), loc="upper center", bbox_to_anchor=(0.5, -0.28), frameon=False)
    return _svg(fig, title)


def dataflow_map(
    title: str,
    zones: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    edges: Sequence[tuple[str, str, str, bool]],
) -> str:
    """Hosts grouped by zone (one framed column per zone), one arrow per observed client → server pair.

    ``zones`` is (zone label, [(host key, host label)]); ``edges`` is (client key, server key,
    label such as ``tcp/104``, violation). Violations are thick dashed arrows with their label in
    bold and marked "VIOLATION", so they stand out in grey print; allowed or internal flows are thin
    solid arrows. Each zone frame and each arrow carries an id (``zone-N``, ``edge-N``).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    rows = max((len(hosts) for _, hosts in zones), default=1)
    step, width = 4.2, 3.0
    span_x, span_y = max(1, len(zones)) * step, rows + 1.6
    fig, ax = plt.subplots(figsize=(min(7.2, 0.62 * span_x + 0.6), min(9.0, 0.62 * span_y + 0.6)))
    ax.set_aspect("equal")
    where: dict[str, tuple[float, float]] = {}
    for i, (zone, hosts) in enumerate(zones):
        x = i * step
        frame = FancyBboxPatch((x - width / 2, -len(hosts) - 0.1), width, len(hosts) + 0.75,
                               boxstyle="round,pad=0.05", facecolor="#f2f2f2", edgecolor="black", linewidth=0.8,
                               zorder=1)
        frame.set_gid(f"zone-{i}")
        ax.add_patch(frame)
        ax.text(x, 0.35, zone, ha="center", va="center", fontweight="bold", fontsize=SMALL_SIZE, zorder=4)
        for j, (key, host) in enumerate(hosts):
            y = -j - 0.5
            where[key] = (x, y)
            ax.text(x, y, host, ha="center", va="center", fontsize=SMALL_SIZE, zorder=4,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "black",
                          "linewidth": 0.6})
    for k, (src, dst, text, violation) in enumerate(edges):
        (x1, y1), (x2, y2) = where[src], where[dst]
        # Arcs bend more the further they go and alternate sides, so parallel flows stay apart.
        rad = (0.7 if x1 == x2 else 0.18 + 0.08 * (k % 3)) * (1 if k % 2 == 0 else -1)
        arrow = FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=9, shrinkA=12, shrinkB=12,
                                connectionstyle=f"arc3,rad={rad}", color="black" if violation else "#555555",
                                linewidth=1.8 if violation else 0.8, linestyle="--" if violation else "-", zorder=2)
        arrow.set_gid(f"edge-{k}")
        ax.add_patch(arrow)
        # The quadratic curve's midpoint: halfway to arc3's control point (equal aspect keeps it on the line).
        dx, dy = x2 - x1, y2 - y1
        mx, my = (x1 + x2) / 2 + rad * dy / 2, (y1 + y2) / 2 - rad * dx / 2
        ax.text(mx, my, f"VIOLATION {text}" if violation else text, ha="center", va="center", fontsize=SMALL_SIZE,
                fontweight="bold" if violation else "normal", zorder=3,
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    ax.set_xlim(-width / 2 - 0.6, (max(1, len(zones)) - 1) * step + width / 2 + 0.6)
    ax.set_ylim(-rows - 1.2, 1.2)
    ax.axis("off")
    ax.set_title(title, loc="left")
    return _svg(fig, title)
