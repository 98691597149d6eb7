"""Walk a DICOM store and inspect every file in parallel, recording results as they arrive.

The walk is a generator (one directory listing in memory at a time); files go to worker
processes in small batches with a fixed number of batches in flight, so memory does not grow
with the size of the archive. Hashing (hashlib releases the GIL) and structure checks run in
the workers; the parent only walks and writes results to the side file.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from radguard.backup.indicators import load_indicators
from radguard.backup.inspect import DEFAULT_HASH, FileResult, inspect_file, path_key
from radguard.backup.state import ScanState
from radguard.errors import InputError

BATCH = 64


@dataclass
class ScanOptions:
    workers: int = max(1, os.cpu_count() or 1)
    deep: bool = False
    keep_paths: bool = False
    # The content hash (radguard.backup.inspect.HASHES); verify uses the manifest's.
    algorithm: str = DEFAULT_HASH


@dataclass
class WalkProblem:
    rel: str
    reason: str


def walk_tree(root: Path, problems: Callable[[WalkProblem], None]) -> Iterator[str]:
    """Relative paths of regular files under ``root``, sorted, without following symlinks.

    A directory that cannot be listed is reported through ``problems`` and skipped; the walk
    goes on. Symbolic links are not followed (a link could leave the store or loop).
    """
    indicators = load_indicators()
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        full = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            with os.scandir(full) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems(WalkProblem(rel_dir or ".", f"cannot list directory: {exc.strerror or exc}"))
            continue
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                problems(WalkProblem(rel, f"cannot stat: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(mode):
                subdirs.append(rel)
            elif stat.S_ISREG(mode) and not indicators.is_ignored(entry.name):
                yield rel
        stack.extend(reversed(subdirs))


def _inspect_batch(root: str, rels: list[str], deep: bool, algorithm: str) -> list[FileResult]:
    return [inspect_file(root, rel, deep, algorithm) for rel in rels]


class _Inline(Executor):
    """Runs work in the calling process (``--workers 1``), with the executor interface."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when the radguard that started it dies.

    A parent stopped by ``kill -9`` cannot shut its pool down, and the workers would otherwise
    keep reading the archive. SIGKILL is safe here: workers only read files and return results.
    If the parent died before the request took effect, the worker has been re-parented: exit.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown is all there is
        pass
    if os.getppid() != parent:
        os._exit(1)


def _executor(workers: int) -> Executor:
    if workers <= 1:
        return _Inline()
    # fork: workers start in milliseconds without re-importing the command line. They only run
    # inspect_file, which touches no lock that the parent's progress-display thread could hold.
    # With fork the pool starts every worker at once from this (the calling) thread, which is
    # the thread whose exit PR_SET_PDEATHSIG watches.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


def scan(root: Path, state: ScanState, options: ScanOptions,
         progress: Callable[[int, int], None] | None = None) -> None:
    """Inspect every file under ``root`` not yet in ``state``; safe to interrupt at any point."""
    if not root.is_dir():
        raise InputError(str(root), None, None, "is not a directory (give the top folder of the DICOM store)")
    root = root.resolve()
    already = state.count_files()

    def problem(p: WalkProblem) -> None:
        state.add_bad_dir(path_key(p.rel), p.reason, p.rel if options.keep_paths else None)

    # Insertion-ordered, so finished batches are recorded in the order they were submitted
    # (wait() returns a set: with the inline executor every batch is already done, and the
    # progress and side file would otherwise follow the set's arbitrary order).
    in_flight: dict[Future[list[FileResult]], None] = {}
    limit = max(2, options.workers * 4)
    last = time.monotonic()
    done_files = already

    def drain(block_until: int) -> None:
        nonlocal last, done_files
        while len(in_flight) > block_until:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in [f for f in in_flight if f in finished]:
                del in_flight[fut]
                results = fut.result()
                now = time.monotonic()
                state.add(results, now - last, options.keep_paths)
                last = now
                done_files += len(results)
                if progress:
                    progress(done_files, sum(r.bytes_read for r in results))

    executor = _executor(options.workers)
    try:
        batch: list[str] = []
        for rel in walk_tree(root, problem):
            batch.append(rel)
            if len(batch) < BATCH:
                continue
            _submit(executor, state, str(root), batch, options, in_flight, resumed=already > 0)
            batch = []
            drain(limit)
        if batch:
            _submit(executor, state, str(root), batch, options, in_flight, resumed=already > 0)
        drain(0)
        state.put("complete", 1)
    except BaseException:
        for fut in in_flight:
            fut.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _submit(executor: Executor, state: ScanState, root: str, batch: list[str], options: ScanOptions,
            in_flight: dict[Future[list[FileResult]], None], resumed: bool) -> None:
    # A fresh run has nothing to skip: the parent does not hash paths or query the side file for
    # it (the parent's share of the work is what limits how far the workers parallelise).
    done = state.done([path_key(rel) for rel in batch]) if resumed else set()
    todo = [rel for rel in batch if path_key(rel) not in done] if done else batch
    if todo:
        in_flight[executor.submit(_inspect_batch, root, todo, options.deep, options.algorithm)] = None
