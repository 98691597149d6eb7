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


def _node_shape(node: object) -> object:
    """A composed node as plain tuples: tag, where it starts, and its scalar value or children."""
    import yaml

    assert isinstance(node, yaml.Node)
    mark = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return node.tag, mark, node.value
    if isinstance(node, yaml.MappingNode):
        return node.tag, mark, [(_node_shape(k), _node_shape(v)) for k, v in node.value]
    return node.tag, mark, [_node_shape(c) for c in node.value]


def test_libyaml_path_gives_what_the_strict_loader_gives() -> None:
    """Every YAML file radguard ships (content, examples, fixtures) parses to the same data and
    the same node tree, lines and columns included, through libyaml as through the strict loader."""
    from radguard import textfiles
    from tests.conftest import EXAMPLES

    assert textfiles._C_LOADER is not None, "PyYAML without libyaml: the fast path is not tested"
    root = Path(textfiles.__file__).parent
    fixtures = root.parents[1] / "tests" / "fixtures"
    files = [*root.rglob("*.yaml"), *EXAMPLES.rglob("*.yaml"), *fixtures.rglob("*.yaml")]
    assert len(files) > 30
    compared = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            strict = textfiles._parse_strict(text, path.name, textfiles.limits())
        except InputError as exc:
            with pytest.raises(InputError) as fast_exc:
                parse_yaml_nodes(text, path.name)
            assert str(fast_exc.value) == str(exc), path
            continue
        fast = parse_yaml_nodes(text, path.name)
        assert fast[0] == strict[0], path
        assert (fast[1] is None) == (strict[1] is None), path
        if fast[1] is not None:
            assert _node_shape(fast[1]) == _node_shape(strict[1]), path
        compared += 1
    assert compared > 30


@pytest.mark.parametrize("levels", [62, 63, 64, 65, 66])
def test_nesting_limit_is_the_same_on_both_paths(levels: int) -> None:
    """At the depth limit (64: the root is level 1) the fast path refuses exactly what the strict one does."""
    from radguard import textfiles

    for leaf in ("x", "[]", "*a"):
        body = "[" * (levels - 1) + leaf + "]" * (levels - 1)
        text = f"top: &a 1\nnest: {body}\n" if leaf == "*a" else f"nest: {body}\n"
        try:
            expected: object = textfiles._parse_strict(text, "n.yaml", textfiles.limits())[0]
        except InputError as exc:
            expected = str(exc)
        try:
            got: object = parse_yaml_nodes(text, "n.yaml")[0]
        except InputError as exc:
            got = str(exc)
        assert got == expected, (levels, leaf)
