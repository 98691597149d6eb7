"""The one way radguard writes a file the user asked for: all of it, or nothing.

Reports, exports, inventory and register exports, backup manifests and the demo's outputs are
all written here. Why one writer: a full disk, a folder without write permission or a
read-only file system must give the same clear message everywhere, and must never leave a
half-written report under the requested name (a reader would trust it) nor a temporary file
beside it (the disk is already full).

How: the data goes to a hidden temporary file in the same folder (so the rename cannot cross
file systems), is flushed and ``fsync``-ed, and is renamed over the target in one step. On any
error the temporary file is removed and an :class:`~radguard.errors.OutputError` names the
file and the reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from radguard.errors import OutputError

_REASONS = {
    errno.ENOSPC: "the disk is full (no space left on device)",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied; choose a folder this user can write to",
    errno.EPERM: "permission denied; choose a folder this user can write to",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a directory; give a file name",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENAMETOOLONG: "the file name is too long",
}


def output_error(path: Path, exc: OSError) -> OutputError:
    """The message for an operating-system error met while writing ``path``.

    :param path: the file the user asked for (not the temporary name).
    :param exc: the error from the operating system.
    """
    if exc.errno == errno.ENOENT:
        reason = f"the folder {path.parent} does not exist"
    else:
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}; nothing was written and no partial file was left")


def temporary_name(path: Path) -> Path:
    """The hidden name a file is written under before it is renamed to ``path``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


@contextmanager
def open_output(path: Path, *, binary: bool = False, encoding: str = "utf-8",
                newline: str | None = None) -> Iterator[IO[Any]]:
    """A file object to write ``path`` through; the file appears only if the block completes.

    :param path: the file to create or replace. Its folder must exist.
    :param binary: bytes (``True``) or text (``False``).
    :param encoding: the text encoding (text mode only).
    :param newline: passed to :func:`open`; ``""`` writes line endings exactly as given.
    :raises OutputError: the disk is full, permission is denied, the folder does not exist...
    """
    path = Path(path)
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path)))
    tmp = temporary_name(path)
    try:
        # 0o666 minus the umask, as any new file; an existing target keeps its own mode below.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        with suppress(FileNotFoundError):
            os.chmod(fd, stat.S_IMODE(os.stat(path).st_mode))
        fh: IO[Any] = (os.fdopen(fd, "wb") if binary
                       else os.fdopen(fd, "w", encoding=encoding, newline=newline))
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        # Only errors about this file are blamed on it; an OSError reading some other file
        # inside the block keeps its own message.
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp), str(path)):
            raise output_error(path, exc) from None
        raise
    _sync_folder(path.parent)


def write_file(path: Path, data: bytes | str, *, encoding: str = "utf-8", newline: str | None = None) -> int:
    """Write ``data`` to ``path`` atomically; returns the number of bytes or characters written.

    :param path: the file to create or replace.
    :param data: bytes are written as they are; text is encoded with ``encoding``.
    :param encoding: the text encoding (text only).
    :param newline: passed to :func:`open` for text; ``""`` writes line endings exactly as given.
    :raises OutputError: as :func:`open_output`.
    """
    if isinstance(data, bytes):
        with open_output(path, binary=True) as fh:
            fh.write(data)
    else:
        with open_output(path, encoding=encoding, newline=newline) as fh:
            fh.write(data)
    return len(data)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; a file system that cannot fsync a folder is not an error."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
