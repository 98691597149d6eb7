"""PDF reports generated in the background for the web app (issue #19).

Laying out a PDF with WeasyPrint takes tens of seconds on a large register, longer than a
browser (or a proxy) should wait on one request. "Generate PDF" therefore starts a job: a
thread of the web process builds the report with the same functions as ``radguard report``
(``reports.build.build_report`` then ``reports.render.write_report``) over its own read
session, and the page polls the job's state until the file is ready to download.

One job per report and person at a time: asking again for a report whose job has not finished
returns that job. Renders run one after another (a lock), so a burst of requests cannot make
the web process lay out many PDFs at once. Jobs live in the process (a single-box web
server); the files are kept in a private temporary directory until the next job for the same
report replaces them or the process ends.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from radguard.db.base import utcnow
from radguard.db.session import Database
from radguard.errors import RadguardError
from radguard.reports.build import build_report
from radguard.reports.render import write_report

log = logging.getLogger(__name__)

JobState = Literal["queued", "building", "writing", "ready", "failed"]
#: What each state reads on the page.
STATE_WORDS: dict[str, str] = {
    "queued": "waiting for another report to finish",
    "building": "reading the register",
    "writing": "laying out the PDF",
    "ready": "ready",
    "failed": "failed",
}


@dataclass
class ReportJob:
    """One background report: who asked, for what, and how far it has got."""

    id: int
    owner: str
    audience: str
    site: str | None
    appendices: tuple[str, ...] = ()  # the technical report's appendices (reports.build.APPENDICES)
    state: JobState = "queued"
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    path: Path | None = None
    size: int | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.state in ("ready", "failed")

    @property
    def words(self) -> str:
        return STATE_WORDS[self.state]


class ReportJobs:
    """The web process's report jobs (kept on ``app.state.report_jobs``)."""

    def __init__(self, database: Database, directory: Path | None = None) -> None:
        """
        :param database: read by each job through its own session.
        :param directory: where finished files are kept (a private temporary directory by default).
        """
        self._database = database
        self._dir = directory  # made on the first job, so an app that never renders leaves nothing behind
        self._jobs: dict[int, ReportJob] = {}
        self._lock = threading.Lock()  # guards _jobs and _next
        self.render_lock = threading.Lock()  # one PDF laid out at a time
        self._next = 1

    def get(self, job_id: int, owner: str) -> ReportJob | None:
        """The job, if it exists and belongs to ``owner`` (another person's job is not theirs to see)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def start(self, owner: str, audience: str, site: str | None,
              on_done: Callable[[ReportJob], None] | None = None,
              appendices: tuple[str, ...] = ()) -> tuple[ReportJob, bool]:
        """Start a PDF job for this report, or return the unfinished one already running for it.

        :param owner: the signed-in person (only they may see and download it).
        :param audience: ``executive`` or ``technical``.
        :param site: the site reported on, or None for the whole organisation.
        :param on_done: called in the job's thread once it is ready or failed (e.g. to log it).
        :param appendices: the technical report's appendices; another choice is another report.
        :returns: the job and whether it was started now (False: the running one was returned).
        """
        key = (owner, audience, site, appendices)
        with self._lock:
            for job in self._jobs.values():
                if (job.owner, job.audience, job.site, job.appendices) == key and not job.done:
                    return job, False
            # The previous finished job for the same report gives way to the new one.
            for old in [j for j in self._jobs.values() if (j.owner, j.audience, j.site, j.appendices) == key]:
                self._discard(old)
            job = ReportJob(id=self._next, owner=owner, audience=audience, site=site, appendices=appendices)
            self._next += 1
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, on_done), name=f"report-job-{job.id}", daemon=True).start()
        return job, True

    def _discard(self, job: ReportJob) -> None:
        del self._jobs[job.id]
        if job.path is not None:
            shutil.rmtree(job.path.parent, ignore_errors=True)

    def _run(self, job: ReportJob, on_done: Callable[[ReportJob], None] | None) -> None:
        with self.render_lock:
            try:
                job.state = "building"
                with self._database.read() as session:
                    report = build_report(session, job.audience, job.site,  # type: ignore[arg-type]
                                          appendices=job.appendices)
                job.state = "writing"
                folder = Path(tempfile.mkdtemp(prefix=f"radguard-report-job-{job.id}-", dir=self._dir))
                target = folder / "report.pdf"
                job.size = write_report(report, target, "pdf")
                job.path = target
                job.state = "ready"
            except RadguardError as exc:
                job.error, job.state = str(exc), "failed"
            except OSError as exc:  # a full disk, a missing folder: what the system said, not the path
                log.exception("report job %s could not write its file", job.id)
                job.error, job.state = f"the server could not write the PDF ({exc.strerror or type(exc).__name__})", \
                    "failed"
            except Exception as exc:  # a job must never die silently: say so on the page, log the rest
                log.exception("report job %s failed", job.id)
                job.error = (f"an unexpected error stopped it ({type(exc).__name__}); the web server's log has "
                             "the details")
                job.state = "failed"
            finally:
                job.finished_at = utcnow()
        if on_done is not None:
            on_done(job)
