"""Exceptions that carry a message a hospital administrator can act on.

Every error that reaches the command line is a :class:`RadguardError`; the CLI prints its
message (no traceback) and exits non-zero. Anything else is a bug in radguard.
"""

from __future__ import annotations


class RadguardError(Exception):
    """Base class: the message is shown to the user as it is."""

    exit_code = 1


class ConfigError(RadguardError):
    """The database URL, a setting or a content file is wrong."""


class InputError(RadguardError):
    """A file the user gave us is invalid; names the file and where in it the problem is.

    ``location`` is a row number (CSV), a JSON path (``$.assets[3].endpoints[0]``) or a line.
    """

    exit_code = 2

    def __init__(self, source: str, location: str | None, field: str | None, problem: str) -> None:
        self.source = source
        self.location = location
        self.field = field
        self.problem = problem
        where = source
        if location:
            where += f", {location}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")


class NotFoundError(RadguardError):
    """Something the user named (an asset, a finding, a check) does not exist."""

    exit_code = 3


class OutOfScopeError(RadguardError):
    """The caller, limited to some sites, may read this organisation-wide object but not change it.

    The web answers 403 with the message (a site's staff deciding an organisation-wide finding
    would reach beyond their sites); an object of another site is a :class:`NotFoundError` instead.
    """


class SafetyError(RadguardError):
    """A request was refused because it would break the clinical safety rules."""

    exit_code = 4


class OutputError(RadguardError):
    """A file radguard was writing could not be written (disk full, permission, missing folder).

    Nothing is left under the requested name or beside it: see :mod:`radguard.outfiles`.
    """

    exit_code = 7


class DatabaseError(RadguardError):
    """The database refused or could not do its part: read-only, disk full, cannot be opened.

    The message never contains SQL text or parameters; the command's transaction was rolled back.
    """

    exit_code = 6


class DatabaseBusyError(DatabaseError):
    """Another radguard process held the database's write lock for longer than radguard waits."""

    exit_code = 75  # EX_TEMPFAIL: the same command succeeds once the other one has finished
