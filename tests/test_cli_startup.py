"""#18: start-up is paid by every command, so a command loads only the libraries it uses.

Measured by what is imported, not by time (the shared machine's load would make a time limit
flaky): `radguard --version` must not load SQLAlchemy, pydicom, the web stack or the report
renderers, and `radguard backup verify` without --set must not load the database layer.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = ("import sys, atexit\n"
          "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
          "from radguard.cli.main import run\n"
          "run(sys.argv[1:])\n")

HEAVY = ("sqlalchemy", "alembic", "pydicom", "pynetdicom", "fastapi", "starlette", "uvicorn", "jinja2",
         "weasyprint", "matplotlib", "httpx", "celery", "openpyxl", "cryptography")


def _modules(*argv: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split(".")[0] for line in proc.stderr.splitlines()}


def test_version_loads_no_heavy_library() -> None:
    loaded = _modules("--version")
    assert "radguard" in loaded  # the probe really saw the modules
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("argv", [("--help",), ("backup", "verify", "--help")])
def test_help_and_backup_verify_skip_the_database_layer(argv: tuple[str, ...]) -> None:
    loaded = _modules(*argv)
    assert "typer" in loaded
    assert not loaded & {"sqlalchemy", "alembic", "fastapi", "weasyprint", "matplotlib"}, sorted(loaded)


def test_a_database_command_still_loads_what_it_needs() -> None:
    """The guard above is not vacuous: a command that reads the database does load SQLAlchemy."""
    loaded = _modules("inventory", "--help")
    assert "sqlalchemy" in loaded


def test_the_console_script_answers_version_without_the_command_line_framework() -> None:
    """`radguard --version` (the console script's entry) loads neither Typer, Click nor Rich,
    and prints what the full command line prints."""
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
             "from radguard.console import run\n"
             "run(sys.argv[1:])\n")
    fast = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, timeout=120,
                          check=True)
    loaded = {line.split(".")[0] for line in fast.stderr.splitlines()}
    assert "radguard" in loaded and not loaded & {"typer", "click", "rich", *HEAVY}, sorted(loaded)
    full = subprocess.run([sys.executable, "-c", _PROBE, "--version"], capture_output=True, text=True, timeout=120,
                          check=True)
    assert fast.stdout == full.stdout and fast.stdout.startswith("radguard ")
    # Anything else still reaches the command line.
    other = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=120,
                           check=True)
    assert "typer" in {line.split(".")[0] for line in other.stderr.splitlines()} and "Usage" in other.stdout
