"""A small DICOM archive and a damaged backup copy of it, for the demo's backup verification.

The instances are pydicom's own bundled test images (a CT and an MR slice) re-issued with new
study, series and instance UIDs and with every patient and date attribute emptied, so nothing
in the demo resembles a patient. The backup copy then suffers what real copies suffer: a file
missing, a file cut short, a file whose bytes changed after the copy, and a stray file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileDataset
from pydicom.uid import generate_uid

# pydicom ships these two in its wheel; get_testdata_file() would try to download others.
TEST_FILES = Path(pydicom.__file__).resolve().parent / "data" / "test_files"
SOURCES = ("CT_small.dcm", "MR_small.dcm")
UID_PREFIX = "1.2.826.0.1.3680043.10.1375.99."  # radguard's root, branch for demo data
EMPTIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "OtherPatientIDs",
           "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "StudyTime", "SeriesTime",
           "AcquisitionTime", "ContentTime", "AccessionNumber", "ReferringPhysicianName", "InstitutionName",
           "StudyID", "OperatorsName", "PerformingPhysicianName")


@dataclass
class DemoArchive:
    source: Path
    backup: Path
    instances: int
    damaged: dict[str, str]  # file name in the backup → what was done to it


def _anonymous(template: FileDataset) -> FileDataset:
    ds = template
    ds.remove_private_tags()
    for keyword in EMPTIED:
        if keyword in ds:
            setattr(ds, keyword, "")
    return ds


def build_archive(root: Path, studies: int = 4, images_per_series: int = 5) -> DemoArchive:
    """Write ``root/archive`` (the source) and ``root/backup`` (a damaged copy)."""
    source, backup = root / "archive", root / "backup"
    for path in (source, backup):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    templates = [_anonymous(pydicom.dcmread(TEST_FILES / name)) for name in SOURCES]
    count = 0
    for study in range(studies):
        template = templates[study % len(templates)]
        study_uid, series_uid = generate_uid(UID_PREFIX), generate_uid(UID_PREFIX)
        folder = source / f"study-{study + 1:02d}"
        folder.mkdir()
        for number in range(images_per_series):
            ds: Dataset = template.copy()
            sop_uid = generate_uid(UID_PREFIX)
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study_uid, series_uid, sop_uid
            ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
            ds.InstanceNumber = number + 1
            ds.save_as(folder / f"img-{number + 1:03d}.dcm", enforce_file_format=True)
            count += 1
    shutil.copytree(source, backup, dirs_exist_ok=True)
    damaged = _damage(backup)
    return DemoArchive(source, backup, count, damaged)


def _damage(backup: Path) -> dict[str, str]:
    files = sorted(backup.rglob("*.dcm"))
    missing, truncated, altered = files[1], files[7], files[12]
    missing.unlink()
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    pixels = bytearray(altered.read_bytes())
    for offset in range(len(pixels) - 64, len(pixels) - 32):  # inside the pixel data
        pixels[offset] ^= 0xFF
    altered.write_bytes(bytes(pixels))
    stray = backup / "study-01" / "thumbs.db"
    stray.write_bytes(b"\x00" * 512)
    rel = {p: str(p.relative_to(backup)) for p in (missing, truncated, altered, stray)}
    return {rel[missing]: "deleted", rel[truncated]: "cut to a third", rel[altered]: "32 pixel bytes changed",
            rel[stray]: "a file that is not DICOM"}
