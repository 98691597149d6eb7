"""Report data assembly on both engines (SQLite and PostgreSQL): the same organization, the same report."""

from __future__ import annotations

from radguard.db.session import open_database
from radguard.reports.build import build_report
from radguard.reports.render import render_html
from tests.reports.northwind import populate


def test_technical_report_data_on_both_engines(db_url: str) -> None:
    populate(db_url)
    db = open_database(db_url)
    try:
        with db.read() as session:
            report = build_report(session, "technical")
            oic = build_report(session, "technical", site="NWH-OIC")
    finally:
        db.dispose()
    by_site = dict(report.inventory.by_site)
    assert report.inventory.total == 40 == sum(by_site.values()) and set(by_site) == {"NWH-MAIN", "NWH-OIC"}
    assert report.findings.available and len(report.findings.rows) > 50
    assert [s for s, _ in report.findings.by_severity] == ["critical", "high", "medium", "low", "info"]
    assert report.readiness.available and report.readiness.previous_label is not None
    assert report.readiness.overall is not None and report.readiness.overall_previous is not None
    assert report.readiness.overall > report.readiness.overall_previous  # v2 answers are higher
    assert len(report.risks) == 5 and len({k.title for k in report.risks}) == 5
    ct = next(s for s in report.resilience.services if s.service == "CT at Main Campus")
    assert ct.rto_hours == 4.0 and ct.demonstrated_hours == 6.5 and ct.verdict == "exceeds RTO"
    assert report.discovery is not None and report.discovery.open_dicom == 1
    assert report.safeguards is not None and report.safeguards.available
    assert "missing" in {c for row in report.safeguards.rows for c in row.cells.values()}
    assert report.roadmap.available and report.roadmap.items[0].rank == 1
    assert {c.framework.key for c in report.coverage} == {"csf2", "hicp", "hph_cpg", "hipaa"}
    assert (
        oic.inventory.total == by_site["NWH-OIC"]
        and dict(oic.inventory.by_class)["modality"] == 5
        and all(r.site in (None, "NWH-OIC") for r in oic.findings.rows)
    )
    html = render_html(report)
    assert "Imaging cybersecurity readiness: technical report" in html
