"""Long work started from a page, run in the background of the web app: PDF reports (issue #19)
and the roadmap's re-rank (issue #18).

Laying out a PDF with WeasyPrint takes tens of seconds on a large register, and re-ranking the
roadmap about fifty at 100,000 assets: longer than a browser (or a proxy) should wait on one
request. The button therefore starts a job: a thread of the web process does the work with the
same functions as the CLI (``reports.build.build_report`` then ``reports.render.write_report``,
as ``radguard report``; ``readiness.dashboard.rerank``, as ``radguard roadmap --re-rank``) in
its own database session, and the page polls the job's state (htmx, or a plain "check again"
link) until it is done.

:class:`BackgroundJobs` is the mechanism, shared by both kinds: one unfinished job per key
(asking again returns it), and one job of a kind running at a time in a process (its
``run_lock``), so a burst of requests cannot make the web process lay out many PDFs or rank the
register many times at once. A job's failure is said in words on its page and the rest logged.

Each job is a ``web_job`` row (issue 18): with ``radguard serve --workers N`` the page polling a
job, and the download, may reach any process. The row is written when the job is asked for, when
its work starts and when it ends; the process running it answers from the live job (so its page
shows each step), the others from the row. Nothing is written while the work runs: a re-rank
holds the database's write lock for its whole transaction. A job left unfinished by a process
that stopped (same machine, its process ID gone) reads as failed, saying so.

* :class:`ReportJobs`: one job per report and person; the files are kept in a private temporary
  directory (readable by every process of the server: one machine, one user) until the next job
  for the same report replaces them.
* :class:`RerankJobs`: one re-rank at a time for the whole organisation, whoever asked; every
  reader of the roadmap page sees it running and then the new ranking.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from sqlalchemy import select

from radguard.db.base import utcnow
from radguard.db.models.web import WebJob
from radguard.db.session import Database, write_lock_sqlite
from radguard.errors import RadguardError
from radguard.inventory.scope import SiteScope
from radguard.readiness.dashboard import rerank
from radguard.reports.build import build_report
from radguard.reports.render import write_report
from radguard.reports.scope import Scope
from radguard.wording import RERANK_STEPS

log = logging.getLogger(__name__)
HOST = socket.gethostname()[:255]
GONE = ("the server process that was running it stopped (restarted or ended); "
        "ask again")

JobState = Literal["queued", "building", "writing", "ready", "failed"]
#: What each state of a report job reads on the page.
STATE_WORDS: dict[str, str] = {
    "queued": "waiting for another report to finish",
    "building": "reading the register",
    "writing": "laying out the PDF",
    "ready": "ready",
    "failed": "failed",
}


@dataclass
class Job:
    """One background job: who asked, when, and how far it has got (``state``, worded by ``WORDS``)."""

    WORDS: ClassVar[dict[str, str]] = {"queued": "waiting", "ready": "ready", "failed": "failed"}
    #: What a failure to write a file reads as, before the system's reason.
    WRITE_FAILED: ClassVar[str] = "the server could not write its file"
    #: The ``web_job.kind`` of this class's rows.
    KIND: ClassVar[str] = "job"
    #: The state written to the row when the work starts (the steps after it are not written).
    STARTED: ClassVar[str] = "queued"

    id: int
    owner: str
    state: str = "queued"
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.state in ("ready", "failed")

    @property
    def words(self) -> str:
        return self.WORDS[self.state]

    def key(self) -> Hashable:
        """Jobs with the same key are one piece of work: while one runs, asking again returns it."""
        return self.id

    def discard(self) -> None:
        """Called when a newer job for the same key replaces this finished one."""

    def params(self) -> dict[str, Any]:
        """This kind's own fields, as JSON values (the row's ``params``)."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self) if f.name not in _BASE}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments that :meth:`params` came from (override to restore types)."""
        return dict(params)


_BASE = frozenset({"id", "owner", "state", "created_at", "finished_at", "error"})


def _json(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


J = TypeVar("J", bound=Job)


class BackgroundJobs(Generic[J]):
    """The web process's jobs of one kind (one instance per kind, kept on ``app.state``)."""

    #: The job class whose rows these are (set by each kind).
    job_class: type[J]

    def __init__(self, database: Database) -> None:
        """
        :param database: where the jobs' rows are kept, and read (or written) by each job through its own session.
        """
        self._database = database
        self._running: dict[int, J] = {}  # this process's unfinished jobs, live (their steps)
        self._lock = threading.Lock()  # guards _running
        self.run_lock = threading.Lock()  # one job of this kind runs at a time in this process

    def _job(self, row: WebJob) -> J:
        """The job as its row says, or the live one if this process runs it (its current step).

        An unfinished job whose process is gone reads as failed."""
        with self._lock:
            live = self._running.get(row.id)
        if live is not None:
            return live
        job = self.job_class(id=row.id, owner=row.owner, state=row.state, created_at=row.created_at,
                             finished_at=row.finished_at, error=row.error,
                             **self.job_class.from_params(row.params or {}))
        if not job.done and row.host == HOST and not _alive(row.pid):
            job.state, job.error = "failed", GONE
        return job

    def get(self, job_id: int, owner: str | None = None) -> J | None:
        """The job, if it exists (and, with ``owner``, belongs to them: another person's is not theirs to see)."""
        with self._database.read() as session:
            row = session.get(WebJob, job_id)
            if row is None or row.kind != self.job_class.KIND or (owner is not None and row.owner != owner):
                return None
            return self._job(row)

    def latest(self) -> J | None:
        """The newest job, finished or not (None before the first)."""
        with self._database.read() as session:
            row = session.scalars(select(WebJob).where(WebJob.kind == self.job_class.KIND)
                                  .order_by(WebJob.id.desc()).limit(1)).first()
            return self._job(row) if row is not None else None

    def submit(self, make: Callable[[int], J], work: Callable[[J, Database], None],
               on_done: Callable[[J], None] | None = None,
               before_run: Callable[[J], None] | None = None) -> tuple[J, bool]:
        """Start the job ``make(id)`` describes, or return the unfinished one with the same key.

        Call it outside a transaction of the caller's that has read: it commits its own, and on
        SQLite a write committed inside a transaction that read first makes that one's writes fail.

        :param make: builds the job from its ID (also called with 0 to learn the new job's key).
        :param work: does the job in a background thread, setting its intermediate states; it
            ends ``ready`` when this returns, ``failed`` (in words) when it raises.
        :param on_done: called in the job's thread once it is ready or failed (e.g. to log it).
        :param before_run: called in the caller's thread with a job about to start, before its
            thread runs (e.g. to audit and commit while the job does not yet hold the database:
            a re-rank writes in one SQLite transaction); if it raises, the job is not started.
        :returns: the job and whether it was started now (False: the running one was returned).
        """
        wanted = make(0)
        job: J | None = None
        session = self._database.sessions()
        try:
            write_lock_sqlite(session)  # SQLite: one submit at a time; PostgreSQL: the kind's rows below
            rows = list(session.scalars(select(WebJob).where(WebJob.kind == self.job_class.KIND).with_for_update()))
            same = [(row, self._job(row)) for row in rows]
            same = [(row, job) for row, job in same if job.key() == wanted.key()]
            for _row, other in same:
                if not other.done:
                    return other, False
            # The previous finished job for the same key gives way to the new one.
            for row, old in same:
                old.discard()
                session.delete(row)
            row = WebJob(kind=self.job_class.KIND, owner=wanted.owner, params=wanted.params(), state="queued",
                         created_at=utcnow(), host=HOST, pid=os.getpid())
            session.add(row)
            session.flush()
            job = make(row.id)
            job.created_at = row.created_at
            with self._lock:
                self._running[job.id] = job
            session.commit()
        except BaseException:
            if job is not None:
                with self._lock:
                    self._running.pop(job.id, None)
            raise
        finally:
            session.rollback()
            session.close()
        if before_run is not None:
            try:
                before_run(job)
            except BaseException:
                with self._lock:
                    self._running.pop(job.id, None)
                with self._database.sessions() as cleanup:
                    unstarted = cleanup.get(WebJob, job.id)
                    if unstarted is not None:
                        cleanup.delete(unstarted)
                        cleanup.commit()
                raise
        threading.Thread(target=self._run, args=(job, work, on_done), name=f"{type(job).__name__}-{job.id}",
                         daemon=True).start()
        return job, True

    def _save(self, job: J) -> None:
        """Write the job's state and fields to its row, in a transaction of its own."""
        session = self._database.sessions()
        try:
            # SQLite: the write lock before reading the row, or a write committed in between (the
            # request auditing this job) would make this transaction's update fail as locked.
            write_lock_sqlite(session)
            row = session.get(WebJob, job.id)
            if row is not None:  # else replaced by a newer job for the same key meanwhile
                row.state, row.finished_at, row.error, row.params = job.state, job.finished_at, job.error, job.params()
                session.commit()
        finally:
            session.rollback()
            session.close()

    def _run(self, job: J, work: Callable[[J, Database], None], on_done: Callable[[J], None] | None) -> None:
        with self.run_lock:
            try:
                job.state = job.STARTED
                self._save(job)
                work(job, self._database)
                job.state = "ready"
            except RadguardError as exc:
                job.error, job.state = str(exc), "failed"
            except OSError as exc:  # a full disk, a missing folder: what the system said, not the path
                log.exception("%s %s could not write its file", type(job).__name__, job.id)
                job.error = f"{job.WRITE_FAILED} ({exc.strerror or type(exc).__name__})"
                job.state = "failed"
            except Exception as exc:  # a job must never die silently: say so on the page, log the rest
                log.exception("%s %s failed", type(job).__name__, job.id)
                job.error = (f"an unexpected error stopped it ({type(exc).__name__}); the web server's log has "
                             "the details")
                job.state = "failed"
            finally:
                job.finished_at = utcnow()
                try:
                    self._save(job)
                finally:
                    with self._lock:
                        self._running.pop(job.id, None)
        if on_done is not None:
            on_done(job)


@dataclass
class ReportJob(Job):
    """One background report: who asked, for what, and how far it has got."""

    WORDS: ClassVar[dict[str, str]] = STATE_WORDS
    WRITE_FAILED: ClassVar[str] = "the server could not write the PDF"
    KIND: ClassVar[str] = "report.pdf"
    STARTED: ClassVar[str] = "building"

    audience: str = "executive"
    site: str | None = None
    appendices: tuple[str, ...] = ()  # the technical report's appendices (reports.build.APPENDICES)
    visible: SiteScope = None  # the owner's sites when the account is limited to them: the report is cut to them
    path: Path | None = None
    size: int | None = None

    def key(self) -> Hashable:
        return (self.owner, self.audience, self.site, self.appendices, self.visible)

    def discard(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path.parent, ignore_errors=True)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        visible = params.get("visible")
        return {**params, "appendices": tuple(params.get("appendices") or ()),
                "visible": frozenset(visible) if visible is not None else None,
                "path": Path(params["path"]) if params.get("path") else None}


class ReportJobs(BackgroundJobs[ReportJob]):
    """The web app's report jobs (kept on ``app.state.report_jobs``; their rows in ``web_job``)."""

    job_class = ReportJob

    def __init__(self, database: Database, directory: Path | None = None) -> None:
        """
        :param database: read by each job through its own session.
        :param directory: where finished files are kept (a private temporary directory by default).
        """
        super().__init__(database)
        self._dir = directory  # made on the first job, so an app that never renders leaves nothing behind

    @property
    def render_lock(self) -> threading.Lock:
        """One PDF laid out at a time."""
        return self.run_lock

    def start(self, owner: str, audience: str, site: str | None,
              on_done: Callable[[ReportJob], None] | None = None,
              appendices: tuple[str, ...] = (), visible: SiteScope = None) -> tuple[ReportJob, bool]:
        """Start a PDF job for this report, or return the unfinished one already running for it.

        :param owner: the signed-in person (only they may see and download it).
        :param audience: ``executive`` or ``technical``.
        :param site: the site reported on, or None for the whole organisation.
        :param on_done: called in the job's thread once it is ready or failed (e.g. to log it).
        :param appendices: the technical report's appendices; another choice is another report.
        :param visible: the owner's sites if the account is limited to them (``reports.scope.Scope.visible``):
            the report is cut to them; other sites are another report.
        :returns: the job and whether it was started now (False: the running one was returned).
        """
        return self.submit(lambda job_id: ReportJob(id=job_id, owner=owner, audience=audience, site=site,
                                                    appendices=appendices, visible=visible), self._render, on_done)

    def _render(self, job: ReportJob, database: Database) -> None:
        job.state = "building"
        with database.read() as session:
            report = build_report(session, job.audience, job.site,  # type: ignore[arg-type]
                                  scope=Scope(session, job.site, visible=job.visible),
                                  appendices=job.appendices)
        job.state = "writing"
        folder = Path(tempfile.mkdtemp(prefix=f"radguard-report-job-{job.id}-", dir=self._dir))
        target = folder / "report.pdf"
        job.size = write_report(report, target, "pdf")
        job.path = target


@dataclass
class RerankJob(Job):
    """One re-rank of the roadmap (``readiness.dashboard.rerank``), with the step it is on."""

    WORDS: ClassVar[dict[str, str]] = {"queued": "waiting for the re-rank under way", **RERANK_STEPS,
                                       "ready": "ranked again", "failed": "failed"}
    KIND: ClassVar[str] = "roadmap.rerank"
    STARTED: ClassVar[str] = "reading"
    snapshot_id: int | None = None  # the stored cards and ranking it wrote

    def key(self) -> Hashable:
        return "rerank"  # one for the whole organisation, whoever asked


class RerankJobs(BackgroundJobs[RerankJob]):
    """The web app's re-rank jobs (kept on ``app.state.rerank_jobs``; their rows in ``web_job``)."""

    job_class = RerankJob

    def start(self, owner: str, on_done: Callable[[RerankJob], None] | None = None,
              before_run: Callable[[RerankJob], None] | None = None) -> tuple[RerankJob, bool]:
        """Start re-ranking the register, or return the re-rank already under way (whoever started it).

        :param owner: the signed-in person who asked (audited by the caller, in ``before_run``).
        :param on_done: called in the job's thread once it is ready or failed.
        :param before_run: see :meth:`BackgroundJobs.submit` (the audit record, committed first).
        """
        return self.submit(lambda job_id: RerankJob(id=job_id, owner=owner), self._rerank, on_done, before_run)

    @staticmethod
    def _rerank(job: RerankJob, database: Database) -> None:
        def step(key: str) -> None:
            job.state = key

        with database.transaction() as session:
            snapshot = rerank(session, on_step=step)
            job.snapshot_id = snapshot.id
