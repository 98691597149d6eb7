"""The ``radguard`` console script: answers ``--version`` before loading the command-line framework.

Typer, Click and Rich take most of a bare start-up (``python -X importtime``), and a packaging
script or a monitoring probe that asks for the version should not wait for them (#18 goal:
``radguard --version`` under 0.2 s). Everything else goes to :func:`radguard.cli.main.run`.
"""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> None:
    """Print the version for a bare ``radguard --version``; otherwise run the command line.

    :param argv: the arguments after the program name (default: ``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        import radguard

        sys.stdout.write(f"radguard {radguard.__version__}\n")
        return
    from radguard.cli.main import run as run_command_line

    run_command_line(argv)
