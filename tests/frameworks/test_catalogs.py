"""The framework catalogs: complete, well-formed, and matching every ID the content cites."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import radguard
from radguard.errors import InputError
from radguard.frameworks import all_frameworks, framework_key, load_framework, validate_refs
from radguard.frameworks.model import Framework
from radguard.frameworks.sources import all_refs_in

PACKAGE = Path(radguard.__file__).parent


def test_csf2_has_all_106_subcategories_in_22_categories() -> None:
    fw = load_framework("csf2")
    per_function = Counter(fw.top_group(r).id for r in fw.requirements)
    assert per_function == {"GV": 31, "ID": 21, "PR": 22, "DE": 11, "RS": 13, "RC": 8}
    assert len({r.group for r in fw.requirements}) == 22
    ids = {r.id for r in fw.requirements}
    assert {"GV.OC-01", "GV.SC-10", "ID.AM-08", "PR.DS-11", "PR.IR-04", "DE.CM-09", "RS.MA-05", "RC.CO-04"} <= ids
    # Withdrawn or CSF 1.1 numbers that must not be accepted.
    assert not ids & {"ID.AM-06", "PR.DS-05", "DE.CM-04", "RS.CO-01", "RC.CO-01", "PR.IP-04", "DE.AE-01"}


def test_hicp_sizes_and_practices() -> None:
    fw = load_framework("hicp")
    assert Counter(r.size for r in fw.requirements)["medium"] == 36
    assert {fw.top_group(r).id for r in fw.requirements} == {str(n) for n in range(1, 11)}
    mde = fw.resolve("9.M.E")
    assert mde is not None and mde.applies_to("large") and mde.applies_to("medium") and not mde.applies_to("small")
    lc = fw.resolve("9.L.C")
    assert lc is not None and lc.applies_to("large") and not lc.applies_to("medium")
    assert fw.resolve("1.S.C") is not None and fw.resolve("10.L.A") is None


def test_hph_cpg_has_ten_essential_and_ten_enhanced_goals() -> None:
    fw = load_framework("hph_cpg")
    assert [r.id for r in fw.requirements] == [f"E{i}" for i in range(1, 11)] + [f"X{i}" for i in range(1, 11)]
    assert {r.group for r in fw.requirements if r.id.startswith("X")} == {"enhanced"}


def test_hipaa_flags_standards_and_aliases() -> None:
    fw = load_framework("hipaa")
    flag = {r.id: r.flag for r in fw.requirements}
    assert flag["164.308(a)(7)(ii)(A)"] == "required"
    assert flag["164.308(a)(7)(ii)(D)"] == "addressable"
    assert flag["164.312(e)(2)(ii)"] == "addressable"
    assert flag["164.312(a)(2)(i)"] == "required"
    assert flag["164.310(d)(2)(iv)"] == "addressable"
    standards = [r for r in fw.requirements if r.kind == "standard"]
    assert all(r.flag == "required" for r in standards)
    assert {c.id for c in fw.children("164.312(e)(1)")} == {"164.312(e)(2)(i)", "164.312(e)(2)(ii)"}
    alias = fw.resolve("164.308(a)(1)(i)")
    assert alias is not None and alias.id == "164.308(a)(1)"
    assert all(r.flag is not None for r in fw.requirements)


def test_validate_refs_names_only_the_unknown_ids() -> None:
    assert validate_refs("csf2", ["PR.AA-05", "PR.DS-5", "ID.AM-08"]) == ["PR.DS-5"]
    assert validate_refs("hph-cpg", ["E3", "X7", "E11"]) == ["E11"]
    assert validate_refs("hipaa", ["164.312(e)(1)", "164.312(f)"]) == ["164.312(f)"]
    with pytest.raises(InputError, match="unknown framework 'iso27001'"):
        framework_key("iso27001")


def test_model_rejects_dangling_group_and_duplicates() -> None:
    doc = yaml.safe_load((PACKAGE / "frameworks" / "catalog" / "hph_cpg.yaml").read_text())
    doc["requirements"].append({"id": "E1", "group": "essential", "title": "again"})
    with pytest.raises(ValidationError, match="E1 appears twice"):
        Framework.model_validate(doc)
    doc["requirements"][-1] = {"id": "E11", "group": "nowhere", "title": "lost"}
    with pytest.raises(ValidationError, match="group nowhere is not a group"):
        Framework.model_validate(doc)


def test_every_framework_id_cited_by_checks_and_checklists_exists() -> None:
    """Reads whatever check catalog and checklist YAML exist, in any shape that has `frameworks`."""
    unknown = []
    cited = 0
    for directory in (PACKAGE / "checks" / "catalog", PACKAGE / "readiness" / "checklists"):
        for path, key, ident in all_refs_in(directory):
            cited += 1
            if validate_refs(key, [ident]):
                unknown.append(f"{path.relative_to(PACKAGE)}: {key} {ident}")
    assert unknown == [], "framework IDs not in radguard's catalogs:\n" + "\n".join(unknown)
    assert cited >= 0  # the content grows over time; zero citations is valid for an empty catalog


def test_all_frameworks_load_with_titles() -> None:
    fws = all_frameworks()
    assert [f.key for f in fws] == ["csf2", "hicp", "hph_cpg", "hipaa"]
    assert all(r.title.strip() for f in fws for r in f.requirements)
