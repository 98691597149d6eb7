"""Coverage status rules: checks, checklist answers, and how they combine."""

from __future__ import annotations

from radguard.frameworks import load_framework
from radguard.frameworks.coverage import Answer, Observed, combine, compute_coverage
from radguard.frameworks.sources import Source

CHECK_A = Source("check", "RG-A", "Remote access without MFA", (("hph_cpg", "E3"), ("hipaa", "164.312(d)")))
CHECK_B = Source("check", "RG-B", "DICOM without TLS", (("hph_cpg", "E5"), ("hipaa", "164.312(e)(2)(ii)")))
QUESTION = Source("question", "ACC-01", "MFA for vendors?", (("hph_cpg", "E3"), ("hipaa", "164.312(e)(2)(i)")))


def _status(rows, ident):  # type: ignore[no-untyped-def]
    return next(r for r in rows if r.requirement.id == ident)


def test_combine() -> None:
    assert combine([]) == "no evidence"
    assert combine(["no evidence", "met"]) == "met"
    assert combine(["not met", "not met"]) == "not met"
    assert combine(["met", "not met"]) == "partly met"
    assert combine(["partly met"]) == "partly met"


def test_statuses_from_checks_and_answers() -> None:
    fw = load_framework("hph_cpg")
    sources = [CHECK_A, CHECK_B, QUESTION]
    never = compute_coverage(fw, Observed(), sources=sources)
    assert _status(never, "E3").status == "no evidence"
    assert "not evaluated" in _status(never, "E3").items[0].detail

    observed = Observed(
        evaluated_checks={"RG-A", "RG-B"},
        open_findings={"RG-A": ["MAIN/CT-1: no MFA"]},
        answers={"ACC-01": Answer(4)},
        checklist_label="v1",
    )
    rows = compute_coverage(fw, observed, sources=sources)
    e3 = _status(rows, "E3")
    assert e3.status == "partly met"  # the check fails, the answer claims 4
    assert {i.id: i.status for i in e3.items} == {"RG-A": "not met", "ACC-01": "met"}
    assert "MAIN/CT-1" in e3.items[0].detail
    assert _status(rows, "E5").status == "met"
    assert _status(rows, "E1").status == "no evidence" and _status(rows, "E1").items == []

    low = Observed(evaluated_checks={"RG-A"}, answers={"ACC-01": Answer(0)})
    assert _status(compute_coverage(fw, low, sources=[QUESTION]), "E3").status == "not met"
    na = Observed(answers={"ACC-01": Answer(None, not_applicable=True)})
    assert _status(compute_coverage(fw, na, sources=[QUESTION]), "E3").items == []


def test_hipaa_standard_rolls_up_its_specifications() -> None:
    fw = load_framework("hipaa")
    observed = Observed(evaluated_checks={"RG-B"}, answers={"ACC-01": Answer(1)})
    rows = compute_coverage(fw, observed, sources=[CHECK_B, QUESTION])
    assert _status(rows, "164.312(e)(2)(ii)").status == "met"
    assert _status(rows, "164.312(e)(2)(i)").status == "partly met"
    standard = _status(rows, "164.312(e)(1)")
    assert standard.status == "partly met" and {i.id for i in standard.items} == {"RG-B", "ACC-01"}


def test_hicp_filter_by_size() -> None:
    fw = load_framework("hicp")
    small = compute_coverage(fw, Observed(), org_size="small", sources=[])
    assert {r.requirement.size for r in small} == {"small"}
    large = compute_coverage(fw, Observed(), org_size="large", sources=[])
    assert {r.requirement.size for r in large} == {"medium", "large"}
