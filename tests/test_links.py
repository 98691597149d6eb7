"""Links from imported data: only http/https are rendered as links, in every template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radguard.links import http_url
from radguard.web.app import templates

SRC = Path(__file__).resolve().parents[1] / "src" / "radguard"
URL_ATTR = re.compile(
    r"""(?<![\w-])(href|src|action|formaction|hx-get|hx-post|hx-put|poster|srcset)\s*=\s*(["'])(.*?)\2""", re.S)
# Attributes whose whole value is an expression that is built by radguard itself, not imported.
INTERNAL = {("base.html", "{{ item[1] }}")}  # navigation entries the route modules declare


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                                 "java\tscript:alert(1)", "data:text/html,<script>", "vbscript:x", "//evil.example/",
                                 "/local/path", "http:\\\\evil.example", "https://", "file:///etc/passwd", None, 3])
def test_anything_but_http_and_https_is_refused(url: object) -> None:
    assert http_url(url) is None


def test_http_and_https_links_pass() -> None:
    assert http_url("https://www.cisa.gov/news-events/ics-medical-advisories/icsma-24-1") is not None
    assert http_url("HTTP://example.org/a?b=c") == "HTTP://example.org/a?b=c"


def test_templates_never_link_to_an_unfiltered_expression() -> None:
    offenders = []
    files = [p for p in SRC.rglob("*") if p.suffix in (".html", ".j2")]
    assert len(files) > 20
    for path in files:
        for m in URL_ATTR.finditer(path.read_text(encoding="utf-8")):
            value = m.group(3).strip()
            if not value.startswith("{"):
                continue  # a literal start ("/findings/…", "#team", "data:,") cannot be another scheme
            if "http_url" in value or (path.name, value) in INTERNAL:
                continue
            offenders.append(f"{path.relative_to(SRC)}: {m.group(0)}")
    assert offenders == [], f"pass imported URLs through the http_url filter: {offenders}"


def test_the_finding_page_does_not_emit_a_javascript_link() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    record = {"id": 1, "title": "t", "check_id": "RG-X", "asset": None, "subject": "s", "state": "open",
              "severity": "high", "risk_score": 50, "due": None, "safeguard_type": "technical",
              "defense_layer": "network", "first_seen": now, "last_seen": now, "decided_by": None,
              "summary": "", "remediation": "", "evidence": {}, "frameworks": {}, "history": [],
              "advisory": {"advisory_id": "ICSMA-1", "remediations": [], "cves": [],
                           "url": "javascript:fetch('/admin/users')"}}
    page = templates.get_template("finding.html").render(f=record, actions=[], can_decide=False, principal=None)
    assert "javascript:" not in page.split("Advisory text", 1)[0][-200:] and 'href="javascript' not in page
    assert "not an http or https link" in page
    record["advisory"]["url"] = "https://www.cisa.gov/a"
    page = templates.get_template("finding.html").render(f=record, actions=[], can_decide=False, principal=None)
    assert '<a href="https://www.cisa.gov/a" rel="noreferrer">' in page
