"""The lazy command table in radguard.cli.main matches what the command modules register."""

from __future__ import annotations

import importlib
import pkgutil

from radguard import cli
from radguard.cli.main import COMMANDS, load_module_commands


def test_command_table_is_exact() -> None:
    registered: dict[str, tuple[str, str]] = {}
    for mod in pkgutil.iter_modules(cli.__path__):
        if mod.name in ("main", "common"):
            continue
        module = importlib.import_module(f"{cli.__name__}.{mod.name}")
        assert hasattr(module, "register"), f"radguard/cli/{mod.name}.py has no register(app)"
        group = load_module_commands(mod.name)
        for name, command in group.commands.items():
            assert name not in registered, f"{name} registered by {registered[name][0]} and {mod.name}"
            registered[name] = (mod.name, command.get_short_help_str(1000))
    assert registered == COMMANDS, "update COMMANDS in radguard/cli/main.py (module and one-line help)"


def test_version_does_not_import_stages(rg) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    code = ("import sys; from radguard.cli.main import run\n"
            "try:\n    run(['--version'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pydicom', 'weasyprint', 'matplotlib', 'fastapi', 'trestle') if m in sys.modules]\n"
            "print('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY:\n" in out, out
