"""Real-shaped 2019 MDS2 workbooks, built with openpyxl the way manufacturers lay them out.

The published form puts a banner (form title, manufacturer, model) above a header row, then
one row per question: question ID, question text, the Yes/No/N/A answer, a note, and the
mapped standards. Section headings sit on their own rows. Manufacturers rename the sheet,
move the header row, reorder columns and sometimes leave the answer column unlabelled; the
builder can do all of that so the reader is tested against each.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from radguard.inventory.mds2 import load_catalog

# A device whose answers trip every MDS2-driven check radguard has.
WEAK_DEVICE: dict[str, Any] = {
    "DOC-1": "Example Imaging Systems", "DOC-3": "XR-9000", "DOC-4": "MDS2-XR9000-R3",
    "DOC-7": datetime(2024, 5, 2), "DOC-8": "No", "DOC-11": "No",
    "MPII-1": "Yes", "MPII-3.5": "Yes",
    "PAUT-1": "No", "PAUT-4": "No", "PAUT-5": "No",
    "RMOT-1": "Yes", "RMOT-1.1": "No", "RMOT-1.2": "No",
    "TXCF-2": "No", "TXCF-2.1": "No", "CONN-7": "No",
    "MLDP-1": "Yes", "MLDP-2": "No", "MLDP-3": "No", "MLDP-4": "No",
    "AUDT-1": "No", "AUDT-2": "No", "AUDT-5.2": "No",
    "SAHD-11": "No", "CONN-1.2.2": "Yes", "CONN-1.2.3": "Yes",
    "SBOM-1": "No", "STCF-1": "No", "AUDT-4.1.1": "No",
}

# A device that attests every safeguard those checks look for.
STRONG_DEVICE: dict[str, Any] = {
    "DOC-1": "Example Imaging Systems", "DOC-3": "XR-9500", "DOC-8": "Yes, https://example.com/psirt",
    "PAUT-1": "Yes", "PAUT-4": "Yes", "PAUT-5": "Yes", "SGUD-3.1": "Yes",
    "RMOT-1": "Yes", "RMOT-1.1": "Yes", "RMOT-1.2": "Yes",
    "TXCF-2": "Yes", "CONN-7": "Yes",
    "MLDP-1": "Yes", "MLDP-2": "Yes", "MLDP-4": "Yes",
    "AUDT-1": "Yes", "AUDT-2": "Yes", "AUDT-5.2": "Yes",
    "SAHD-11": "Yes", "SBOM-1": "Yes", "STCF-1": "Yes", "AUDT-4.1.1": "Yes",
}


def build_workbook(
    path: Path,
    answers: Mapping[str, Any],
    *,
    sheet: str = "MDS2",
    banner_rows: int = 6,
    id_column: int = 1,
    answer_header: str | None = "Yes, No, N/A, or See Note",
    default: str | None = "N/A",
    extra_rows: list[list[Any]] | None = None,
    notes: Mapping[str, str] | None = None,
    leading_sheets: tuple[str, ...] = ("Instructions",),
) -> Path:
    """Write a workbook with every 2019 question; ``answers`` override ``default``."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = leading_sheets[0] if leading_sheets else sheet
    sheets = [first] + [wb.create_sheet(n) for n in leading_sheets[1:]]
    for ws in sheets if leading_sheets else []:
        ws["A1"] = "Read the form's instructions before answering."
    ws = wb.create_sheet(sheet) if leading_sheets else first
    ws.cell(1, 1, "Manufacturer Disclosure Statement for Medical Device Security -- MDS2")
    ws.cell(2, 1, "Example Imaging Systems")
    ws.cell(3, 1, "XR-9000")
    header_row = banner_rows + 1
    columns = ["Question ID", "Question", answer_header, "Note #", "IEC TR 80001-2-2:2012", "NIST SP 800-53 Rev. 4"]
    base = id_column
    for offset, title in enumerate(columns):
        if title is not None:
            ws.cell(header_row, base + offset, title)
    row = header_row + 1
    catalog = load_catalog()
    notes = notes or {}
    for code, title in catalog.section_titles.items():
        ws.cell(row, base, f"{title.upper()} ({code})")
        row += 1
        for q in catalog.questions.values():
            if q.section != code:
                continue
            ws.cell(row, base, q.id)
            ws.cell(row, base + 1, f"Question about {q.text}?")
            value = answers.get(q.id, default)
            if value is not None:
                ws.cell(row, base + 2, value)
            if q.id in notes:
                ws.cell(row, base + 3, notes[q.id])
            ws.cell(row, base + 4, "RDMP")
            ws.cell(row, base + 5, "SA-12")
            row += 1
    for extra in extra_rows or []:
        for c, value in enumerate(extra):
            if value is not None:
                ws.cell(row, base + c, value)
        row += 1
    wb.save(path)
    return path


def cell_of(path: Path, sheet: str, qid: str) -> str:
    """The coordinate of the cell holding ``qid`` (for asserting error messages)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for r in wb[sheet].iter_rows():
        for c in r:
            if c.value == qid:
                return str(c.coordinate)
    raise AssertionError(qid)
