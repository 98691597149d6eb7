"""The shared reader turns every kind of bad text file into an InputError naming the file and line."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from radguard.errors import InputError
from radguard.textfiles import decode_text, load_json, load_yaml, parse_yaml_nodes, read_text


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data", [
    "name: Café\n".encode(),
    codecs.BOM_UTF8 + "name: Café\n".encode(),
    "name: Café\n".encode("utf-16"),  # with the BOM Python writes for the platform order
    codecs.BOM_UTF16_LE + "name: Café\n".encode("utf-16-le"),
    codecs.BOM_UTF16_BE + "name: Café\n".encode("utf-16-be"),
], ids=["utf8", "utf8-bom", "utf16", "utf16-le", "utf16-be"])
def test_utf8_and_utf16_with_a_bom_are_read_as_the_same_text(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "a.yaml", data)
    assert read_text(path) == "name: Café\n"
    assert load_yaml(path) == {"name": "Café"}


def test_latin1_is_refused_with_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, "staff.csv", "name,site\nAnn,MAIN\nJosé,EAST\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        read_text(path)
    assert str(info.value) == f"{path}, line 3: not UTF-8 text; save the file as UTF-8"
    assert info.value.location == "line 3"


def test_truncated_utf16_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", codecs.BOM_UTF16_LE + "ab".encode("utf-16-le") + b"c")
    with pytest.raises(InputError, match="UTF-16 text is damaged"):
        read_text(path)


def test_utf32_is_refused_rather_than_read_as_utf16(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.yaml", "x: 1\n".encode("utf-32"))
    with pytest.raises(InputError, match="line 1: not UTF-8 text"):
        read_text(path)


@pytest.mark.parametrize("data", [b"", b"  \n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")],
                         ids=["zero-bytes", "whitespace", "bom-only", "utf16-blank"])
def test_an_empty_file_is_an_input_error(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "a.yaml", data)
    with pytest.raises(InputError, match=r"a\.yaml: the file is empty"):
        read_text(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: file not found"):
        read_text(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "team.yaml", b"roles:\n  - name: lead\n    primary: [unclosed\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert info.value.location is not None and info.value.location.startswith("line 4, column")
    assert "not valid YAML" in info.value.problem


def test_yaml_nodes_agree_with_the_data() -> None:
    data, node = parse_yaml_nodes("a: 1\nb:\n  - x\n", "t.yaml")
    assert data == {"a": 1, "b": ["x"]}
    assert node is not None and node.value[1][1].start_mark.line == 2
    with pytest.raises(InputError, match=r"^t\.yaml, line 2, column 1: not valid YAML: expected a single document"):
        parse_yaml_nodes("a: 1\n---\nb: 2\n", "t.yaml")  # two documents in one file


def test_yaml_refuses_python_tags() -> None:
    with pytest.raises(InputError, match="not valid YAML"):
        parse_yaml_nodes("x: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.json", b'{\n  "a": 1,,\n}\n')
    with pytest.raises(InputError, match=r"v\.json, line 2, column 10: not valid JSON: Expecting"):
        load_json(path)
    assert load_json(_write(tmp_path, "ok.json", '{"a": "é"}'.encode("utf-16"))) == {"a": "é"}


def test_decode_text_names_the_source_given() -> None:
    with pytest.raises(InputError, match=r"^upload: vendors\.yaml, line 2: not UTF-8"):
        decode_text(b"ok\n\xff\n", "upload: vendors.yaml")


def test_control_character_in_yaml_is_a_located_input_error() -> None:
    """PyYAML's reader refuses control characters when the loader is built, before parsing: that
    ReaderError escaped as a traceback (found by the hardening corpus's hypothesis property)."""
    from radguard.textfiles import parse_yaml

    with pytest.raises(InputError, match=r"f.yaml, line 2: not valid YAML: special characters"):
        parse_yaml("a: 1\nb: x\x01y\n", "f.yaml")
