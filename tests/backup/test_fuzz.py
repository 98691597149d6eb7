"""Fuzzing the DICOM parsing path with mutated real files (hypothesis).

Properties: the walker only ever raises its own DicomStructureError; whatever it accepts,
pydicom reads too, with the same SOP Instance UID; and inspect_file never raises at all and
always gives a known kind, whatever the bytes on disk are.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from radguard.backup.dicomwalk import DicomStructureError, walk
from radguard.backup.inspect import KINDS, inspect_file

SEEDS = ("CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm",
         "image_dfl.dcm", "rtplan.dcm", "test-SR.dcm", "UN_sequence.dcm")


def _seed_bytes() -> list[bytes]:
    out = []
    for name in SEEDS:
        path = get_testdata_file(name)
        assert path is not None, name
        out.append(Path(path).read_bytes())
    return out


SEED_DATA = _seed_bytes()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_DATA)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "truncate", "insert", "length", "delete", "undefined"]))
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "length":  # a plausible but wrong 16- or 32-bit length where a length may be
            value = draw(st.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE]))
            data[pos:pos + 4] = value.to_bytes(4, "little")
        else:
            data[pos:pos + 4] = b"\xff\xff\xff\xff"
    return bytes(data)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_walker_accepts_only_what_pydicom_reads_the_same(data: bytes) -> None:
    try:
        summary = walk(data)
    except DicomStructureError:
        return
    if summary.is_dicomdir:
        return
    ds = pydicom.dcmread(io.BytesIO(data), force=False)
    assert str(ds.SOPInstanceUID).strip("\x00 ") == summary.sop_instance


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["IM0001", "IM0001.dcm", "IM0001.dcm.locked", "README_FOR_DECRYPT.txt"]))
def test_inspect_file_never_raises(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_bytes(data)
        result = inspect_file(tmp, name, deep=False)
    assert result.kind in KINDS
    assert result.size == len(data)
    if result.kind == "dicom":
        assert result.sop and result.digest


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_after_the_preamble_never_crash_the_walker(data: bytes) -> None:
    with contextlib.suppress(DicomStructureError):
        walk(b"\0" * 128 + b"DICM" + data)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_implicit.dcm", "JPEG2000.dcm", "MR_small_bigendian.dcm"])
def test_every_cut_after_the_image_header_is_corrupt(name: str) -> None:
    """Cut anywhere after Rows (even between two elements), the file is refused: no Pixel Data."""
    path = get_testdata_file(name)
    assert path is not None
    data = Path(path).read_bytes()
    ds = pydicom.dcmread(path)
    rows_at = data.index(b"\x28\x00\x10\x00" if not ds.file_meta.TransferSyntaxUID.endswith(".2.2")
                         else b"\x00\x28\x00\x10", 132)
    walk(data)  # the whole file is fine
    accepted = []
    # Every byte of the header after Rows, then a stride through the pixels (each walk costs the header).
    cuts = sorted(set(range(rows_at + 1, min(len(data), rows_at + 1500))) | set(range(rows_at + 1, len(data), 37))
                  | {len(data) - 1})
    for cut in cuts:
        try:
            walk(data[:cut])
            accepted.append(cut)
        except DicomStructureError:
            pass
    # Only dropping the optional trailing padding (FFFC,FFFC) leaves a complete file.
    assert all(data[cut:cut + 4] == b"\xfc\xff\xfc\xff" for cut in accepted)
