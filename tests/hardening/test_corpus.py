"""Every importer against the malformed-input corpus (tests/hardening/corpus.py).

Each case runs the real command line in-process on a fresh copy of a seeded database and
asserts the four properties of issue #23: a non-zero exit; a message naming the file and the
line, row, field or JSON path; no traceback (an unexpected exception fails the test); and
every table of the database exactly as it was. The base document of every importer is
imported too, so that each case fails because of its one change and nothing else.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radguard.checks.engine import load_settings
from radguard.discovery.scope import load_scope
from tests.conftest import CliResult
from tests.hardening.corpus import EXAMPLES, FIXTURES, Case, Importer, _csv, _json, _yaml, cases, importers

CORPUS = cases()
IMPORTERS = importers()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "input-limits.md"


def _run(argv: list[str]) -> int:
    from radguard.cli.main import run

    try:
        run(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the Northwind example data, copied for every case."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    db = ["--db", str(path)]
    steps = [["init"], ["inventory", "import", str(EXAMPLES / "northwind-inventory.yaml")],
             ["team", "import", str(EXAMPLES / "northwind-team.yaml")],
             ["services", "import", str(EXAMPLES / "northwind-services.yaml")],
             ["drill", "import", str(EXAMPLES / "northwind-drill.yaml")],
             ["vendor", "import", str(EXAMPLES / "northwind-vendors.yaml")],
             ["feeds", "import", str(FIXTURES / "feeds" / "kev-subset.json")],
             ["checklist", "assessment", "create", "--org", "Northwind", "--size", "small"]]
    for step in steps:
        assert _run([*db, *step]) == 0, step
    return path


def copy_database(src: Path, dest: Path) -> None:
    """A consistent copy (write-ahead log included) through SQLite's backup API."""
    with sqlite3.connect(src) as source, sqlite3.connect(dest) as target:
        source.backup(target)


@pytest.fixture
def database(seeded: Path, tmp_path: Path) -> Path:
    path = tmp_path / "radguard.db"
    copy_database(seeded, path)
    return path


def dump(path: Path) -> dict[str, list[str]]:
    """Every row of every table, in a comparable form."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{t}"')) for t in tables}


def _argv(args: tuple[str, ...], file: Path | None, folder: Path) -> list[str]:
    return [a.replace("{file}", str(file)).replace("{dir}", str(folder)) for a in args]


def _write(case: Case, tmp_path: Path) -> Path | None:
    if case.filename is None:
        return None
    path = tmp_path / case.filename
    if callable(case.content):
        case.content(path)
    else:
        assert case.content is not None
        path.write_bytes(case.content)
    return path


def check_refused(rg: Callable[..., CliResult], database: Path, argv: list[str], file: Path | None,
                  where: str) -> CliResult:
    """The four properties, for one command."""
    before = dump(database)
    try:
        result = rg("--db", database, *argv)
    except Exception as exc:  # what the console script would print as a traceback
        pytest.fail(f"traceback: {type(exc).__name__}: {str(exc)[:300]}")
    message = result.err + result.out
    assert result.code != 0, f"accepted: {message[:300]}"
    assert "Traceback" not in message and "please report" not in message, message[:500]
    if file is not None:
        assert str(file) in message, f"the message does not name the file: {message[:300]}"
    assert re.search(where, message), f"the message does not say where ({where}): {message[:300]}"
    assert dump(database) == before, "a refused input changed the database"
    return result


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_malformed_input_is_refused_cleanly(case: Case, rg: Callable[..., CliResult], database: Path,
                                            tmp_path: Path) -> None:
    file = _write(case, tmp_path)
    (tmp_path / "store").mkdir()
    check_refused(rg, database, _argv(case.args, file, tmp_path / "store"), file, case.where)


def _base_file(imp: Importer, tmp_path: Path) -> Path:
    path = tmp_path / imp.filename
    if imp.kind == "json":
        path.write_text(_json(imp.base), encoding="utf-8")
    elif imp.kind == "yaml":
        path.write_text(_yaml(imp.base), encoding="utf-8")
    elif imp.kind == "csv":
        path.write_text(_csv(imp.base), encoding="utf-8")
    else:
        path.write_bytes(imp.base)
    return path


@pytest.mark.parametrize("imp", IMPORTERS, ids=[i.key for i in IMPORTERS])
def test_every_base_document_is_accepted(imp: Importer, rg: Callable[..., CliResult], database: Path,
                                         tmp_path: Path) -> None:
    """So that each corpus case is refused for its one change, not for a broken base."""
    path = _base_file(imp, tmp_path)
    if imp.key == "discover-scope":  # a valid scope would start a scan; reading it is the point
        assert load_scope(path).doc.max_level == 1
        return
    if imp.key == "assess-settings":  # a valid settings file would run the whole assessment
        assert load_settings(path).parameters == {"stale_days": 180}
        return
    result = rg("--db", database, *_argv(imp.args, path, tmp_path))
    assert result.code == 0, result.err


def test_the_corpus_covers_every_class(rg: Callable[..., CliResult]) -> None:
    """A guard against the corpus shrinking unnoticed, and against the docs drifting from it."""
    names = {c.id.split("/", 1)[1] for c in CORPUS}
    for needed in ("deep-nesting", "duplicate-key", "nan", "number-40-digits", "string-2mb", "bad-utf8-line3",
                   "nul-byte", "short-last-row", "long-row", "duplicate-header", "unterminated-quote", "cell-2mb",
                   "billion-laughs", "zip-bomb", "external-entity"):
        assert needed in names
    assert len({c.id for c in CORPUS}) == len(CORPUS)
    assert f"{len(CORPUS)} malformed inputs" in DOCS.read_text(encoding="utf-8")


# --- valid input that used to be refused ---------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_inventory_json_with_a_byte_order_mark_is_accepted(encoding: str, rg: Callable[..., CliResult],
                                                           database: Path, tmp_path: Path) -> None:
    imp = next(i for i in IMPORTERS if i.key == "inventory-json")
    path = tmp_path / "inventory.json"
    path.write_text(_json(imp.base), encoding=encoding)
    result = rg("--db", database, "inventory", "import", path, "--json")
    assert result.code == 0, result.err
    assert '"assets_created": 1' in result.out


def test_what_radguard_exports_it_imports(rg: Callable[..., CliResult], database: Path, tmp_path: Path) -> None:
    """Export, import the export, export again: the two exports are the same file."""
    for suffix in ("json", "yaml", "csv"):
        first, second = tmp_path / f"first.{suffix}", tmp_path / f"second.{suffix}"
        assert rg("--db", database, "inventory", "export", first).code == 0
        result = rg("--db", database, "inventory", "import", first)
        assert result.code == 0, result.err
        assert rg("--db", database, "inventory", "export", second).code == 0
        assert first.read_bytes() == second.read_bytes()


# --- property: corrupting a valid file anywhere never crashes and never half-writes -----------------

_FUZZED = [i for i in IMPORTERS if i.key in ("inventory-csv", "inventory-json", "vendor-yaml", "training-csv",
                                             "sbom-cyclonedx-json")]


@pytest.mark.parametrize("imp", _FUZZED, ids=[i.key for i in _FUZZED])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_corrupted_file_is_imported_whole_or_refused_cleanly(imp: Importer, data: Any,
                                                               rg: Callable[..., CliResult], seeded: Path,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    database = folder / "radguard.db"
    copy_database(seeded, database)
    original = _base_file(imp, folder).read_bytes()
    at = data.draw(st.integers(0, len(original)))
    cut = data.draw(st.integers(0, 8))
    insert = data.draw(st.binary(max_size=6) | st.sampled_from([b'"', b",", b"\n", b"\x00", b"{", b"[", b"\xff"]))
    path = folder / imp.filename
    path.write_bytes(original[:at] + insert + original[at + cut:])
    before = dump(database)
    try:
        result = rg("--db", database, *_argv(imp.args, path, folder))
    except Exception as exc:
        pytest.fail(f"traceback: {type(exc).__name__}: {str(exc)[:300]}")
    message = result.err + result.out
    assert "Traceback" not in message and "please report" not in message
    if result.code != 0:
        assert str(path) in message, message[:300]
        assert dump(database) == before


