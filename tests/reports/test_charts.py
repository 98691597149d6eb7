"""The charts' SVG read back: one font scale, no hatching on one series, value labels where they can be read."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from radguard.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
# A value label's width in points: DejaVu Sans digits are 0.64 em wide.
DIGIT_EM = 0.64


def _all_charts() -> dict[str, str]:
    return {
        "bar_h": charts.bar_chart("By class", ["modality", "PACS", "network device", "VNA"], [85, 18, 3, 1],
                                  unit="Open findings (count)"),
        "bar_v": charts.bar_chart("By severity", ["critical", "high", "medium", "low", "info"], [13, 56, 83, 29, 0],
                                  unit="Open findings (count)", horizontal=False),
        "maturity": charts.maturity_chart("Maturity", ["Governance", "Backup"], [1.8, None], [3.0, 2.0], [1.0, 0.5]),
        "stacked": charts.stacked_status_chart("Coverage", ["CSF 2.0", "HIPAA"], ["met", "partly met", "not met"],
                                               [[10, 4, 2], [3, 8, 1]], unit="Requirements (count)"),
        "dataflow": charts.dataflow_map(
            "Flows", [("Imaging", [("a", "CT-1"), ("b", "PACS")]), ("Office", [("c", "PC")])],
            [("a", "b", "tcp/104", False), ("c", "b", "tcp/104", True)]),
    }


def _style(el: ET.Element) -> dict[str, str]:
    pairs = (p.split(":", 1) for p in el.get("style", "").split(";") if ":" in p)
    return {k.strip(): v.strip() for k, v in pairs}


def _box(path_d: str) -> tuple[float, float, float, float]:
    nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path_d)]
    xs, ys = nums[0::2], nums[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _by_id(root: ET.Element, suffix: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id", "").endswith(f"-{suffix}")]
    assert len(found) == 1, (suffix, len(found))
    return found[0]


def test_every_chart_uses_one_family_and_the_size_scale() -> None:
    sizes = {f"{s:g}px" for s in charts.FONT_SIZES}
    for name, svg in _all_charts().items():
        texts = list(ET.fromstring(svg).iter(f"{SVG}text"))
        assert texts, name
        for t in texts:
            style = _style(t)
            assert style.get("font-family") == f"'{charts.FONT_FAMILY}'", (name, t.text, style)
            assert style.get("font-size") in sizes, (name, t.text, style)
        titles = [t for t in texts if _style(t).get("font-weight") == "700" and t.text in
                  {"By class", "By severity", "Maturity", "Coverage", "Flows"}]
        assert [_style(t)["font-size"] for t in titles] == [f"{charts.TITLE_SIZE:g}px"], name


def test_single_series_bars_are_plain_while_stacked_series_are_hatched() -> None:
    made = _all_charts()
    for name in ("bar_h", "bar_v", "maturity"):
        root = ET.fromstring(made[name])
        assert not list(root.iter(f"{SVG}pattern")), f"{name} draws hatching"
        fills = {_style(p).get("fill") for p in _by_id(root, "bar-0").iter(f"{SVG}path")} if name != "maturity" \
            else set()
        assert name == "maturity" or fills == {charts.BAR_FILL}, (name, fills)
    # The same parse finds hatching where several series need it, so the check above can fail.
    assert list(ET.fromstring(made["stacked"]).iter(f"{SVG}pattern"))


@pytest.mark.parametrize("horizontal", [True, False])
def test_value_labels_sit_inside_long_bars_and_past_short_ones_within_the_plot(horizontal: bool) -> None:
    values = [85, 18, 3, 1, 0]
    root = ET.fromstring(charts.bar_chart("Counts", ["a", "b", "c", "d", "e"], values, unit="Count (n)",
                                          horizontal=horizontal))
    px0, py0, px1, py1 = _box(next(_by_id(root, "plot").iter(f"{SVG}path")).get("d", ""))
    placed = {"inside": 0, "outside": 0}
    for n, value in enumerate(values):
        bx0, by0, bx1, by1 = _box(next(_by_id(root, f"bar-{n}").iter(f"{SVG}path")).get("d", ""))
        text = next(_by_id(root, f"value-{n}").iter(f"{SVG}text"))
        assert text.text == str(value)
        x, y, size = float(text.get("x", "")), float(text.get("y", "")), float(_style(text)["font-size"][:-2])
        width = DIGIT_EM * size * len(str(value))
        anchor = _style(text)["text-anchor"]
        left = x - width / 2 if anchor == "middle" else x
        right = left + width
        assert px0 <= left and right <= px1 and py0 <= y - size and y <= py1 + 1, (n, value, "outside the plot")
        if value >= charts.INSIDE_SHARE * max(values):
            placed["inside"] += 1
            assert _style(text).get("fill") == "#ffffff", (n, "white on the dark bar")
            assert bx0 <= left and right <= bx1 and by0 <= y - size * 0.75 and y <= by1, (n, value, "not inside")
        else:
            placed["outside"] += 1
            assert _style(text).get("fill", "#000000") in {"#000000", "black"}, (n, "black on white")
            if horizontal:
                assert left >= bx1, (n, value, "overlaps its bar")
            else:
                assert y <= by0, (n, value, "overlaps its bar")
    assert placed == {"inside": 2, "outside": 3}
