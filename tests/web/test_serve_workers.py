"""``radguard serve --workers 2``: two real server processes behind one port (issue 18).

The server is started as a user would start it; which process answered a request is read
from its own log (with several workers every line says ``[pid]``), matched by the client
port of the connection that sent it. What must hold whichever process answers: a session
signed in on one process works on the other, a CSRF token issued on one is accepted on the
other, and the sign-in throttle counts failures made on either.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.web.accounts import create_user
from tests.support.ports import free_port, stop_group

PASSWORD = "workers test password"
STARTUP = 180.0  # seconds for both workers to import the app on a loaded machine


class Server:
    """The running ``radguard serve --workers 2`` and its log."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> set[int]:
        return {int(p) for p in re.findall(r"\[(\d+)\] Application startup complete", self.text())}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[http.client.HTTPResponse, bytes, int]:
        """One request (on ``conn`` or a new connection): the answer, its body and the pid that served it."""
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        if conn.sock is None:
            conn.connect()
        client_port = conn.sock.getsockname()[1]
        offset = len(self.log.read_bytes())
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        line = re.compile(rf"\[(\d+)\] 127\.0\.0\.1:{client_port} - \"{method} ")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = line.search(self.log.read_bytes()[offset:].decode(errors="replace"))
            if found:
                return response, data, int(found.group(1))
            time.sleep(0.02)
        raise AssertionError(f"no access log line for client port {client_port}")

    def connection_to(self, pid: int) -> http.client.HTTPConnection:
        """A kept-alive connection that the process ``pid`` accepted (new ones until one is)."""
        for _ in range(400):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            _, _, served = self.request("GET", "/healthz", conn=conn)
            if served == pid:
                return conn
            conn.close()
        raise AssertionError(f"400 new connections and none went to process {pid}")


@pytest.fixture
def server(sqlite_db: Database, tmp_path: Path) -> Iterator[Server]:
    with sqlite_db.transaction() as s:
        create_user(s, "admin", PASSWORD, "admin")
        create_user(s, "reader", PASSWORD, "viewer")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "radguard.cli.main", "--db", sqlite_db.url, "serve",
                                 "--port", str(port), "--workers", "2"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    running = Server(port, log)
    try:
        deadline = time.monotonic() + STARTUP
        while len(running.workers()) < 2:
            assert proc.poll() is None, running.text()
            assert time.monotonic() < deadline, running.text()
            time.sleep(0.1)
        yield running
    finally:
        stop_group(proc)


def _sign_in_form(server: Server, conn: http.client.HTTPConnection | None = None) -> tuple[str, str]:
    """(cookie header, form token) of a fresh sign-in form."""
    response, body, _ = server.request("GET", "/login", conn=conn)
    token = re.search(r'name="csrf_token" value="([^"]+)"', body.decode())
    cookie = response.getheader("set-cookie", "").split(";")[0]
    assert token and cookie.startswith("rg_login_csrf=")
    return cookie, token.group(1)


def _attempt(server: Server, username: str, password: str, form: tuple[str, str],
             conn: http.client.HTTPConnection | None = None) -> tuple[http.client.HTTPResponse, int]:
    cookie, token = form
    response, _, pid = server.request(
        "POST", "/login", conn=conn, body=urlencode({"username": username, "password": password, "csrf_token": token}),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    return response, pid


def _throttled(database: Database, username: str) -> list[dict[str, object]]:
    """The details of the audited throttled sign-ins of ``username``."""
    with database.read() as s:
        return [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "login.throttled"))
                if e.detail.get("username") == username]


def test_two_workers_share_sessions_csrf_and_the_sign_in_throttle(server: Server, sqlite_db: Database) -> None:
    first, second = sorted(server.workers())
    # A session signed in on one process is honoured by the other, with its CSRF token.
    conn = server.connection_to(first)
    response, signed_in_by = _attempt(server, "admin", PASSWORD, _sign_in_form(server, conn), conn)
    assert response.status == 303 and signed_in_by == first, server.text()[-3000:]
    session = response.getheader("set-cookie", "").split(";")[0]
    assert session.startswith("rg_session=")
    other = server.connection_to(second)
    response, page, pid = server.request("GET", "/findings", headers={"Cookie": session}, conn=other)
    assert (response.status, pid) == (200, second), page[:300]
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.decode())
    assert csrf
    other = server.connection_to(second)
    response, _, pid = server.request("POST", "/logout", headers={"Cookie": session, "X-CSRF-Token": csrf.group(1)},
                                      conn=other)
    assert (response.status, pid) == (303, second)  # accepted on the process that did not issue it
    conn = server.connection_to(first)
    response, _, pid = server.request("GET", "/findings", headers={"Cookie": session}, conn=conn)
    assert (response.status, pid) == (303, first)  # signed out there too: the session is in the database

    # Failures on one process count on the other: 5 free attempts per account, then delays.
    conn = server.connection_to(first)
    form = _sign_in_form(server, conn)
    for _ in range(5):
        response, pid = _attempt(server, "reader", "not the password", form, conn)
        assert (response.status, pid) == (401, first)
    assert _throttled(sqlite_db, "reader") == []
    # Each try on the other process that comes too late is counted and doubles the delay (1, 2,
    # 4, 8 s), so a slow machine gets more room each round. Counts kept per process would never
    # hold it back in these 4 tries: that process would have seen at most 4 failures of its own.
    for _ in range(4):
        other = server.connection_to(second)
        response, pid = _attempt(server, "reader", "not the password", form, other)
        assert (response.status, pid) == (401, second)
        if _throttled(sqlite_db, "reader"):
            break
    events = _throttled(sqlite_db, "reader")
    assert len(events) == 1 and events[0]["limit"] == "account"
