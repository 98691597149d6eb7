"""EPSS: FIRST's CSV from a file or a local HTTP server, in the risk score and the finding view."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from radguard.checks.findings import finding_record
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.feeds.epss import compress, download_epss, parse_epss, read_epss_file
from radguard.feeds.update import FeedUnavailableError
from radguard.readiness.dashboard import assess
from tests.feeds.test_checks import seed

EPSS_CSV = ("#model_version:v2023.03.01,score_date:2026-12-02T00:00:00+0000\n"
            "cve,epss,percentile\n"
            "CVE-2022-2119,0.42110,0.97102\n"
            "CVE-2022-2120,0.00130,0.47000\n"
            "CVE-2017-0144,0.97565,0.99990\n")


@pytest.fixture
def epss_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server: /epss.csv.gz serves the gzip file, anything else is a 503."""
    hits: list[str] = []
    body = compress(EPSS_CSV)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/epss.csv.gz":
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _router_finding(db: Database) -> dict[str, object]:
    with db.read() as s:
        finding = s.scalars(select(Finding).where(Finding.check_id == "RG-ADVISORY",
                                                  Finding.key == "ICSMA-22-174-01")).one()
        return finding_record(finding, events=True)


def test_epss_raises_the_risk_score_and_shows_with_its_date(
        feeds_db: Database, epss_server: tuple[str, list[str]]) -> None:
    seed(feeds_db)
    with feeds_db.transaction() as s:
        assess(s)
    before = _router_finding(feeds_db)
    assert all(c["epss"] is None for c in before["advisory"]["cves"])  # type: ignore[index]

    base, hits = epss_server
    scores = download_epss(f"{base}/epss.csv.gz")
    assert hits == ["/epss.csv.gz"] and len(scores) == 3
    from radguard.feeds.epss import store_epss

    with feeds_db.transaction() as s:
        assert store_epss(s, scores) == {"cves": 3, "score_date": "2026-12-02"}
    with feeds_db.transaction() as s:
        assess(s)
    after = _router_finding(feeds_db)
    assert after["risk_explanation"]["exploit"]["factor"] == 1.15  # type: ignore[index]
    assert abs(after["risk_score"] - before["risk_score"] * 1.15) <= 1  # type: ignore[operator]
    assert "EPSS" in after["risk_explanation"]["exploit"]["note"]  # type: ignore[index]
    by_cve = {c["id"]: c["epss"] for c in after["advisory"]["cves"]}  # type: ignore[index]
    assert by_cve["CVE-2022-2119"] == {"epss": 0.4211, "percentile": 0.97102, "score_date": "2026-12-02"}
    assert by_cve["CVE-2022-2121"] is None


def test_download_failure_changes_nothing(epss_server: tuple[str, list[str]]) -> None:
    base, _ = epss_server
    with pytest.raises(FeedUnavailableError, match="HTTP 503"):
        download_epss(f"{base}/missing.csv.gz")


def test_cli_imports_a_file(rg: Callable[..., object], tmp_path: Path) -> None:
    path = tmp_path / "epss.csv"
    path.write_text(EPSS_CSV)
    db = f"sqlite:///{tmp_path / 'rg.db'}"
    assert rg("--db", db, "init").code == 0  # type: ignore[attr-defined]
    out = rg("--db", db, "feeds", "epss", "--file", path, "--json")
    assert out.code == 0 and '"score_date"' in out.out and "2026-12-02" in out.out  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "message"), [
    ("cve,epss,percentile\nCVE-2022-2119,0.4,0.9\n", "line 1: no '#model_version"),
    ("#model_version:v1,score_date:2026-12-02T00:00:00+0000\ncve,epss,percentile\nCVE-2022-2119,4.2,0.9\n",
     r"row 1 \(line 3\), field 'epss': 4.2 is not between 0 and 1"),
    ("#model_version:v1,score_date:2026-12-02T00:00:00+0000\ncve,epss,percentile\nnot-a-cve,0.1,0.9\n",
     r"row 1 \(line 3\), field 'cve'"),
    ("#model_version:v1,score_date:2026-12-02T00:00:00+0000\ncve,score\nCVE-2022-2119,0.1\n",
     "not cve,epss,percentile"),
])
def test_malformed_files_are_located(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_epss(text.encode(), "epss.csv")


def test_gzip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADGUARD_LIMIT_STREAM_BYTES", "100000")
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(compress("#score_date:2026-12-02\n" + "0" * 10_000_000))
    with pytest.raises(InputError, match="uncompressed, the file is more than"):
        read_epss_file(path)
