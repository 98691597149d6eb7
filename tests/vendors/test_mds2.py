"""MDS2 ingestion: real-shaped 2019 workbooks and CSVs in, answers keyed by question ID out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.mds2 import import_mds2, load_catalog, normalize_answer, read_mds2
from tests.conftest import EXAMPLES
from tests.vendors.mds2_forms import WEAK_DEVICE, build_workbook, cell_of


def test_catalog_has_the_23_sections_of_the_2019_form() -> None:
    catalog = load_catalog()
    assert list(catalog.section_titles) == [
        "DOC", "MPII", "ALOF", "AUDT", "AUTH", "CSUP", "DIDT", "DTBK", "EMRG", "IGAU", "MLDP", "NAUT",
        "CONN", "PAUT", "PLOK", "RDMP", "SBOM", "SAHD", "SGUD", "STCF", "TXCF", "TXIG", "RMOT",
    ]
    assert len(catalog.questions) == 240
    for qid in ("PAUT-4", "RMOT-1.1", "CONN-7", "MLDP-2", "SBOM-1", "AUDT-5.2", "STCF-1", "AUDT-4.1.1", "MPII-3.10"):
        assert qid in catalog.questions
    assert "CNFS-1" not in catalog.questions


@pytest.mark.parametrize(("raw", "expected"), [
    ("Yes", ("yes", None)), ("YES", ("yes", None)), ("y", ("yes", None)), ("No", ("no", None)),
    ("N/A", ("n/a", None)), ("n / a", ("n/a", None)), ("NA", ("n/a", None)), ("Not applicable", ("n/a", None)),
    ("Yes, optional", ("yes", "optional")), ("Yes,Send to PACS", ("yes", "Send to PACS")),
    ("N/A: No default accounts", ("n/a", "No default accounts")),
    ("Yes (disabled by default)", ("yes", "disabled by default")),
    ("No default accounts", ("No default accounts", None)), ("None", ("None", None)),
    ("See Note 3", ("See Note 3", None)), ("Nope", ("Nope", None)),
])
def test_normalize_answer(raw: str, expected: tuple[str, str | None]) -> None:
    assert normalize_answer(raw) == expected


def test_published_layout_reads_every_answer(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "xr9000.xlsx", {**WEAK_DEVICE, "MPII-2.5": "Yes, optional"},
                          notes={"PAUT-4": "Service account 'svc' is not in the manual"})
    doc = read_mds2(path)
    assert doc.sheet == "MDS2"
    assert len(doc.answers) == 240 and doc.unanswered == []
    assert doc.answers["PAUT-4"] == "no" and doc.answers["RMOT-1.1"] == "no" and doc.answers["STCF-1"] == "no"
    assert doc.answers["ALOF-1"] == "n/a"  # the default of the builder
    assert doc.answers["DOC-1"] == "Example Imaging Systems"
    assert doc.answers["DOC-7"] == "2024-05-02"  # an Excel date cell
    assert doc.answers["MPII-2.5"] == "yes" and doc.notes["MPII-2.5"] == "optional"
    assert doc.notes["PAUT-4"] == "Service account 'svc' is not in the manual"
    received = doc.received()
    assert received["form"] == "MDS2-2019"
    assert received["device"]["model"] == "XR-9000"
    assert received["sections"]["CSUP"] == 34


def test_other_sheet_name_header_position_and_unlabelled_answer_column(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "vendor-b.xlsx", WEAK_DEVICE, sheet="Sheet1", banner_rows=11, id_column=3,
                          answer_header=None, leading_sheets=("Cover", "Revision history"))
    doc = read_mds2(path)
    assert doc.sheet == "Sheet1"
    assert doc.answers["PAUT-4"] == "no" and doc.answers["CONN-7"] == "no" and len(doc.answers) == 240


def test_blank_answers_are_listed_not_invented(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "partial.xlsx", {"PAUT-4": "No", "STCF-1": "Yes", "DOC-1": "Acme",
                                                       "DOC-2": "Scanner", "DOC-3": "Z1"}, default=None)
    doc = read_mds2(path)
    assert doc.answers == {"PAUT-4": "no", "STCF-1": "yes", "DOC-1": "Acme", "DOC-2": "Scanner", "DOC-3": "Z1"}
    assert "RMOT-1.1" in doc.unanswered and len(doc.unanswered) == 235


def test_misspelled_id_seen_in_published_forms_is_read_as_its_question(tmp_path: Path) -> None:
    path = tmp_path / "alias.csv"
    path.write_text("Question ID,Answer\nDOC-1,Acme\nSHAD-15,Yes\nSAHD-11,No\nPAUT-4,No\nRMOT-1,Yes\n")
    doc = read_mds2(path)
    assert doc.answers["SAHD-15"] == "yes" and "SHAD-15" not in doc.answers


def test_csv_of_question_id_answer_note(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("question_id,answer,notes\nDOC-1,Acme Imaging,\nPAUT-4,No,svc account undocumented\n"
                    "RMOT-1,Yes,\nRMOT-1.1,no,\nSTCF-1,N/A,no PHI stored\nCONN-7,\"Yes, TLS 1.2\",\n")
    doc = read_mds2(path)
    assert doc.sheet is None
    assert doc.answers == {"DOC-1": "Acme Imaging", "PAUT-4": "no", "RMOT-1": "yes", "RMOT-1.1": "no",
                           "STCF-1": "n/a", "CONN-7": "yes"}
    assert doc.notes == {"PAUT-4": "svc account undocumented", "STCF-1": "no PHI stored", "CONN-7": "TLS 1.2"}


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_mds2(path)
    return str(info.value)


def test_unknown_question_id_names_sheet_row_and_cell(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "odd.xlsx", WEAK_DEVICE, extra_rows=[["PAUT-99", "Made-up question", "Yes"]])
    coordinate = cell_of(path, "MDS2", "PAUT-99")
    row = coordinate.lstrip("ABCDEFGH")
    msg = _error(path)
    assert f"sheet 'MDS2', row {row}, cell {coordinate}" in msg
    assert "unknown question ID 'PAUT-99'" in msg


def test_unknown_id_in_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("ID,Response\nDOC-1,A\nDOC-2,B\nDOC-3,C\nPAUT-4,No\nXYZW-1,Yes\n")
    assert "line 6, column 1: unknown question ID 'XYZW-1'" in _error(path)


def test_two_different_answers_to_one_question(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "dup.xlsx", WEAK_DEVICE, extra_rows=[["PAUT-4", "again", "Yes"]])
    msg = _error(path)
    assert "PAUT-4 is answered twice, differently: 'no'" in msg and "'yes' here" in msg


def test_answer_without_question_id(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "orphan.xlsx", WEAK_DEVICE, extra_rows=[[None, "Orphan question", "No"]])
    msg = _error(path)
    assert "an answer ('No') with no question ID" in msg and "sheet 'MDS2'" in msg


def test_2013_form_is_refused(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "old.xlsx", WEAK_DEVICE, extra_rows=[["CNFS-1", "Configurable?", "Yes"]])
    assert "belongs to the 2013 MDS2 form" in _error(path)


def test_layout_without_answers_or_ids(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Question ID", "Question", "Comment"])
    for qid in ("DOC-1", "DOC-2", "DOC-3", "PAUT-4", "RMOT-1", "RMOT-1.1"):
        ws.append([qid, "text", None])
    wb.save(tmp_path / "noanswers.xlsx")
    msg = _error(tmp_path / "noanswers.xlsx")
    assert "sheet 'Sheet', row 1" in msg and "no column of Yes/No/N/A answers" in msg
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Inventory", "of", "things"])
    wb.save(tmp_path / "other.xlsx")
    assert "no sheet has a column of MDS2 question IDs" in _error(tmp_path / "other.xlsx")
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert "save it as .xlsx" in _error(tmp_path / "x.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    assert "not a readable Excel workbook" in _error(tmp_path / "broken.xlsx")


def _seed_asset(database: Database) -> int:
    with database.transaction() as s:
        site = Site(code="MAIN", name="Main")
        s.add(site)
        s.flush()
        asset = Asset(site_id=site.id, name="CT-1", asset_class="modality")
        s.add(asset)
        s.flush()
        return asset.id


def test_import_stores_evidence_once_and_nothing_on_error(database: Database, tmp_path: Path) -> None:
    asset_id = _seed_asset(database)
    path = build_workbook(tmp_path / "ct.xlsx", WEAK_DEVICE)
    with database.transaction() as s:
        first = import_mds2(s, path, "MAIN/CT-1")
    assert not first.unchanged and first.answers == 240
    with database.transaction() as s:
        again = import_mds2(s, path, "CT-1")
    assert again.unchanged and again.evidence_id == first.evidence_id
    bad = build_workbook(tmp_path / "bad.xlsx", WEAK_DEVICE, extra_rows=[["RMOT-9", "?", "No"]])
    with pytest.raises(InputError), database.transaction() as s:
        import_mds2(s, bad, "CT-1")
    with database.read() as s:
        rows = s.scalars(select(Evidence).where(Evidence.kind == "doc.mds2")).all()
        assert len(rows) == 1
        ev = rows[0]
        assert ev.asset_id == asset_id and ev.source == "ct.xlsx"
        assert ev.received["answers"]["STCF-1"] == "no" and ev.received["answers"]["PAUT-4"] == "no"
        assert ev.received["form"] == "MDS2-2019"


def test_cli_mds2_import(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    path = build_workbook(tmp_path / "ct-ed-1.xlsx", WEAK_DEVICE)
    r = rg("--db", sqlite_url, "mds2", "import", path, "--asset", "NWH-MAIN/CT-ED-1", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["asset"] == "NWH-MAIN/CT-ED-1" and summary["answers"] == 240 and summary["sheet"] == "MDS2"
    # CT-ED-1 is a Philips scanner; the statement says Example Imaging Systems.
    assert summary["warnings"] and "'Example Imaging Systems' (DOC-1)" in summary["warnings"][0]
    own = build_workbook(tmp_path / "philips.xlsx", {**WEAK_DEVICE, "DOC-1": "Philips Medical Systems"})
    r = rg("--db", sqlite_url, "mds2", "import", own, "--asset", "NWH-MAIN/CT-ED-1")
    assert r.code == 0 and "warning" not in r.err
    r = rg("--db", sqlite_url, "mds2", "import", path, "--asset", "NWH-MAIN/CT-ED-1")
    assert r.code == 0 and "already on file" in r.out
    bad = build_workbook(tmp_path / "bad.xlsx", WEAK_DEVICE, extra_rows=[["RMOT-9", "?", "No"]])
    r = rg("--db", sqlite_url, "mds2", "import", bad, "--asset", "NWH-MAIN/CT-ED-1")
    assert r.code == 2 and "unknown question ID 'RMOT-9'" in r.err and "cell A" in r.err
    r = rg("--db", sqlite_url, "mds2", "import", path, "--asset", "NOPE")
    assert r.code == 3


def test_import_refuses_unknown_asset_before_writing(database: Database, tmp_path: Path) -> None:
    _seed_asset(database)
    path = build_workbook(tmp_path / "ct.xlsx", WEAK_DEVICE)
    from radguard.errors import NotFoundError

    with pytest.raises(NotFoundError), database.transaction() as s:
        import_mds2(s, path, "MAIN/NOPE")
    with database.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0


def test_short_csv_and_parenthesised_answer_header(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("MDS2 Question ID;Response (Yes/No/N/A);Comments\nSTCF-1;No;planned for 2027\nPAUT-4;Yes;\n")
    doc = read_mds2(path)
    assert doc.answers == {"STCF-1": "no", "PAUT-4": "yes"} and doc.notes == {"STCF-1": "planned for 2027"}


def test_answer_header_found_even_when_answers_are_free_text(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "texty.xlsx", {}, default="See note", answer_header="Manufacturer Response")
    doc = read_mds2(path)
    assert len(doc.answers) == 240 and set(doc.answers.values()) == {"See note"}
