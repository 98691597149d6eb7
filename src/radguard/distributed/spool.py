"""A local spool: results a sensor could not send wait here, one atomic file each.

Files are written to a temporary name, fsynced and renamed, so a crash leaves either a whole
result or none; sending removes the file only after the broker accepted the message.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # the worker and the background flusher both send
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def put(self, key: str, envelope: dict[str, Any]) -> Path:
        """Store one envelope under ``key`` (a job id); the same key overwrites, never duplicates."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
        final = self.directory / f"{safe}.json"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "w") as fh:
            json.dump(envelope, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def pending(self) -> list[Path]:
        return sorted(self.directory.glob("*.json"))

    def flush(self, send: Callable[[dict[str, Any]], None]) -> int:
        """Send every spooled envelope; stop at the first failure (the broker is still away)."""
        sent = 0
        with self._lock:
            for path in self.pending():
                envelope = json.loads(path.read_text(encoding="utf-8"))
                send(envelope)
                path.unlink(missing_ok=True)
                sent += 1
        return sent
