"""Turn a :class:`Report` into one self-contained HTML file, or a PDF from the same HTML.

The HTML carries its CSS and SVG charts inline and references nothing outside itself, so it
can be e-mailed or archived and opens offline. WeasyPrint renders the PDF from the same markup
with a URL fetcher that refuses every request, so a PDF can never leak a network request either.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from radguard import wording
from radguard.errors import RadguardError
from radguard.links import http_url
from radguard.outfiles import write_file
from radguard.reports.build import APPENDIX_TITLES, Report

Format = Literal["html", "pdf"]


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("radguard.reports", "templates"),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    wording.register(env)
    env.filters["num"] = lambda v, nd=1: "n/a" if v is None else f"{v:.{nd}f}"
    env.filters["evidence_lines"] = evidence_lines
    env.filters["http_url"] = http_url
    return env


def evidence_lines(evidence: dict[str, Any], max_keys: int = 8, width: int = 90) -> list[str]:
    """A finding's evidence as short ``key: value`` lines, so one finding never fills a page."""
    lines = []
    for key, value in list(evidence.items())[:max_keys]:
        if value in (None, "", [], {}):
            continue
        text = wording.value(value)
        lines.append(f"{wording.label(key)}: {text if len(text) <= width else text[: width - 1] + '…'}")
    if len(evidence) > max_keys:
        lines.append(f"… {len(evidence) - max_keys} more fields in `radguard findings show`")
    return lines


def _css(pdf: bool) -> str:
    base = resources.files("radguard.reports").joinpath("templates", "report.css").read_text(encoding="utf-8")
    return base


def render_html(report: Report, *, for_pdf: bool = False) -> str:
    template = _env().get_template(f"{report.audience}.html.j2")
    charts = {k: Markup(v) for k, v in report.charts.items()}
    return template.render(r=report, charts=charts, css=Markup(_css(for_pdf)), for_pdf=for_pdf,
                           appendix_titles=APPENDIX_TITLES)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise RadguardError(f"the report tried to load {url}; reports must be self-contained")


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    html = render_html(report, for_pdf=True)
    pdf = HTML(string=html, url_fetcher=_refuse_fetch, base_url=None).write_pdf()
    if pdf is None:  # pragma: no cover - write_pdf returns bytes when no target is given
        raise RadguardError("WeasyPrint produced no PDF")
    return pdf


def write_report(report: Report, path: Path, fmt: Format) -> int:
    """Write the report; returns its size in bytes. Atomic (:mod:`radguard.outfiles`): a full disk
    leaves neither a half report nor a temporary file."""
    data = render_pdf(report) if fmt == "pdf" else render_html(report).encode("utf-8")
    return write_file(path, data)
