"""Hostile and odd files: each gets a status and a reason, and nothing stops the run."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from radguard.backup.inspect import inspect_file

CT = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()


def _meta_only() -> bytes:
    """CT_small's preamble and meta header (explicit VR little endian), without its data set."""
    group_length = struct.unpack_from("<I", CT, 132 + 8)[0]
    return CT[: 132 + 12 + group_length]


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return name


def test_sequence_nesting_bomb_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    seq = struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    bomb = _meta_only() + (seq + item) * 5000
    r = inspect_file(str(tmp_path), _write(tmp_path, "bomb", bomb))
    assert r.kind == "corrupt" and "nested deeper" in r.reason


def test_absurd_length_is_corrupt(tmp_path: Path) -> None:
    element = struct.pack("<HH2sHI", 0x0010, 0x0010, b"UT", 0, 0xFFFFFFF0) + b"x" * 16
    r = inspect_file(str(tmp_path), _write(tmp_path, "huge", _meta_only() + element))
    assert r.kind == "corrupt" and "declares 4294967280 bytes" in r.reason


def test_partially_encrypted_file_is_encrypted(tmp_path: Path) -> None:
    """Some ransomware encrypts only the first kilobytes of each file, which is enough to ruin it."""
    data = random.Random(1).randbytes(4096) + CT[4096:]
    r = inspect_file(str(tmp_path), _write(tmp_path, "IM0001", data))
    assert r.kind == "encrypted" and "entropy" in r.reason


def test_plain_text_without_dicom_is_corrupt_not_encrypted(tmp_path: Path) -> None:
    r = inspect_file(str(tmp_path), _write(tmp_path, "notes.txt", b"study list\n" * 500))
    assert r.kind == "corrupt" and "no DICOM preamble" in r.reason


def test_ransom_note_even_when_empty(tmp_path: Path) -> None:
    note = inspect_file(str(tmp_path), _write(tmp_path, "HOW_TO_RECOVER_FILES.txt", b""))
    assert note.kind == "ransom_note" and note.name == "HOW_TO_RECOVER_FILES.txt"
    assert inspect_file(str(tmp_path), _write(tmp_path, "IM0002", b"")).kind == "empty"


NOTE_TEXT = ("Your network has been breached and all files are encrypted. To get your files back, buy the "
             "decryptor for 2 BTC. Download the Tor Browser and open our site (an .onion address).\n")


@pytest.mark.parametrize(("name", "data"), [
    ("README_FOR_DECRYPT.txt", b"whatever it says"),  # a known name
    ("DECRYPT-FILES.html", b"<html><body>hello</body></html>"),
    ("info.hta", b"<hta:application>"),
    ("README.txt", NOTE_TEXT.encode()),  # a suspect name with ransom text
    ("!!!.txt", NOTE_TEXT.encode()),  # any name, by its text
    ("restore.html", f"<html><body><p>{NOTE_TEXT}</p></body></html>".encode()),
    ("LIESMICH.txt", NOTE_TEXT.encode("utf-16")),  # Windows notes are often UTF-16
    ("note", "Vos fichiers sont chiffrés (encrypted). Payez en bitcoin via Tor.".encode("latin-1")),
])
def test_ransom_notes_by_name_and_by_text(tmp_path: Path, name: str, data: bytes) -> None:
    r = inspect_file(str(tmp_path), _write(tmp_path, name, data))
    assert r.kind == "ransom_note" and r.name == name
    assert r.reason.startswith("ransom note")
    assert "BTC" not in r.reason and "breached" not in r.reason  # never the file's contents


@pytest.mark.parametrize(("name", "data"), [
    ("README.TXT", b"Insert this disc and run VIEWER.EXE to view the images.\n"),  # a DICOM CD's readme
    ("notes.txt", b"Backups are encrypted at rest; to restore a study, call the PACS team.\n"),
    ("IM0003", b"\x00\x01\x02 payment bitcoin tor" * 4 + bytes(range(32)) * 64),  # binary, not text
])
def test_innocent_files_are_not_notes(tmp_path: Path, name: str, data: bytes) -> None:
    assert inspect_file(str(tmp_path), _write(tmp_path, name, data)).kind == "corrupt"


@pytest.mark.parametrize(("magic", "what"), [(b"MZ\x90\x00\x03", "Windows PE"), (b"\x7fELF\x02\x01", "ELF")])
def test_executable_in_preamble_is_polyglot(tmp_path: Path, magic: bytes, what: str) -> None:
    """CVE-2019-11687: the file is a valid image and a program at once."""
    data = magic + CT[len(magic):]
    r = inspect_file(str(tmp_path), _write(tmp_path, "IM0004", data))
    assert r.kind == "polyglot" and what in r.reason and "CVE-2019-11687" in r.reason
    assert r.sop.startswith("1.3.6.1.4.1.5962")  # still attributed to its instance
    cut = inspect_file(str(tmp_path), _write(tmp_path, "IM0005", data[:-100]))  # damaged too: polyglot wins
    assert cut.kind == "polyglot"
    assert inspect_file(str(tmp_path), _write(tmp_path, "IM0006", b"II*\x00" + CT[4:])).kind == "dicom"  # TIFF dual


def test_big_file_is_memory_mapped_and_hashed_in_slices(tmp_path: Path) -> None:
    import hashlib

    import radguard.backup.inspect as inspect_module

    pixels = 20 * 1024 * 1024
    header = CT[: CT.index(b"\xe0\x7f\x10\x00OW")]
    element = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, pixels)
    data = header + element + bytes(pixels)
    assert len(data) > inspect_module.READ_WHOLE_LIMIT
    r = inspect_file(str(tmp_path), _write(tmp_path, "big", data))
    assert r.kind == "dicom" and r.sha256 == hashlib.sha256(data).hexdigest()


def test_deep_mode_agrees_on_a_sound_file(tmp_path: Path) -> None:
    r = inspect_file(str(tmp_path), _write(tmp_path, "ct", CT), deep=True)
    assert r.kind == "dicom" and r.sop.startswith("1.3.6.1.4.1.5962")


def test_indicators_are_validated_data(tmp_path: Path) -> None:
    """indicators.yaml is content: a mistake in it is a ConfigError naming the file, not a wrong verdict."""
    import yaml

    from radguard.backup.indicators import INDICATORS_FILE, load_indicators
    from radguard.errors import ConfigError

    doc = yaml.safe_load(INDICATORS_FILE.read_text(encoding="utf-8"))
    assert load_indicators(INDICATORS_FILE).preamble_executable(b"MZ") is not None
    for mistake in ({"note_text": {**doc["note_text"], "required_groups": ["nope"]}},
                    {"preamble_executables": [{"magic": "zz", "what": "x"}]},
                    {"notes": []}):
        bad = tmp_path / "indicators.yaml"
        bad.write_text(yaml.safe_dump({**doc, **mistake}), encoding="utf-8")
        with pytest.raises(ConfigError, match=r"indicators\.yaml: cannot load ransomware indicators"):
            load_indicators(bad)
