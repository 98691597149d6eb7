"""Synthetic imaging archives made from pydicom's bundled test files, with fresh UIDs.

Used by the backup tests and by ``benchmarks/backup_verify.py``. Every instance gets new
Study/Series/SOP Instance UIDs and a made-up patient (name, ID, birth date, study date) so
that tests can assert none of these identifiers leak into anything radguard writes.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

# Templates covering explicit/implicit/big-endian, JPEG 2000, RLE, deflate and an SR-like dose.
TEMPLATES = (
    "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm",
    "SC_rgb_rle.dcm", "rtdose.dcm", "image_dfl.dcm",
)


@dataclass(frozen=True)
class Instance:
    rel: str
    sop: str
    study: str
    series: str
    patient_name: str
    patient_id: str
    study_date: str
    template: str


def _template(name: str, real_shape: bool) -> Dataset:
    path = get_testdata_file(name)
    if path is None:
        raise FileNotFoundError(f"pydicom test file {name} is not installed")
    ds = pydicom.dcmread(path)
    if real_shape and name in ("CT_small.dcm", "MR_small.dcm"):
        # Clinical matrix sizes (CT 512×512, MR 256×256, 16-bit) by tiling the original pixels.
        side = 512 if name.startswith("CT") else 256
        pixels = bytes(ds.PixelData)
        need = side * side * 2
        ds.Rows = ds.Columns = side
        ds.PixelData = (pixels * (need // len(pixels) + 1))[:need]
    return ds


def instance_bytes(ds: Dataset, inst: Instance) -> bytes:
    ds.StudyInstanceUID = inst.study
    ds.SeriesInstanceUID = inst.series
    ds.SOPInstanceUID = inst.sop
    ds.file_meta.MediaStorageSOPInstanceUID = inst.sop
    ds.PatientName = inst.patient_name
    ds.PatientID = inst.patient_id
    ds.PatientBirthDate = "19470312"
    ds.StudyDate = inst.study_date
    ds.StudyTime = "101500"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def plan(studies: int, series_per_study: int, per_series: int, *, seed: int = 0,
         newest: date = date(2026, 11, 20)) -> Iterator[tuple[str, Instance]]:
    """(template name, instance) for a whole archive, deterministic for a seed."""
    rng = random.Random(seed)
    for s in range(studies):
        patient = f"PT{seed:02d}{s:06d}"
        study = generate_uid(entropy_srcs=[str(seed), "study", str(s)])
        study_date = (newest - timedelta(days=s % 400)).strftime("%Y%m%d")
        for r in range(series_per_study):
            series = generate_uid(entropy_srcs=[str(seed), "series", str(s), str(r)])
            template = TEMPLATES[rng.randrange(len(TEMPLATES))]
            for i in range(per_series):
                sop = generate_uid(entropy_srcs=[str(seed), "sop", str(s), str(r), str(i)])
                rel = f"{patient}/{study[-12:]}/{series[-8:]}/IM{i:05d}"
                yield template, Instance(rel, sop, study, series, f"Doe^Jane{s:04d}", patient, study_date, template)


def make_archive(root: Path, studies: int = 3, series_per_study: int = 2, per_series: int = 3, *, seed: int = 0,
                 real_shape: bool = False, newest: date = date(2026, 11, 20)) -> list[Instance]:
    """Write an archive under ``root`` (files without extension, patient/study/series folders)."""
    cache: dict[str, Dataset] = {}
    made: list[Instance] = []
    for template, inst in plan(studies, series_per_study, per_series, seed=seed, newest=newest):
        ds = cache.get(template) or cache.setdefault(template, _template(template, real_shape))
        path = root / inst.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(instance_bytes(ds, inst))
        made.append(inst)
    return made
