"""Debian's Chromium driven by Playwright (no browser download), and a live uvicorn server.

Chromium's background services are switched off: this machine has no network beyond loopback
and the package registries, and the tests must not depend on anything outside loopback.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def live_server(app: Any, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL.

    :param port: a port chosen beforehand (e.g. one already registered as an OIDC redirect); free if None.
    """
    import uvicorn

    from tests.support.ports import free_port, wait_for_port

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(host, port)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        deadline = time.monotonic() + 10
        while thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)


# axe-core, installed by scripts/setup (`npm ci` in tests/support/axe, a committed lock file).
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any) -> list[str]:
    """The serious and critical WCAG A/AA violations axe-core finds on the page (rule: nodes).

    The script is read from disk and evaluated through the DevTools protocol, so the page's
    CSP (no inline scripts) stays as it is for the page itself.
    """
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
        return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                           .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).slice(0, 5).join(", "));
    }""")
    return list(found)


# The screenshots the docs show (docs/manager-guide.md, docs/web.md): taken by the browser tests of
# the tasks they show, and copied here only when RADGUARD_DOC_SCREENSHOTS=1.
DOC_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """Save what the window shows (not the whole scrolled page) as ``folder/name``.

    With ``RADGUARD_DOC_SCREENSHOTS=1`` the picture is also written to docs/img, reduced to a
    128-colour palette (the pages are greys and a few accents, so text stays sharp) at about a
    third of the size. The size check catches a blank window: an empty page compresses to a few kB.
    """
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000, f"{name} looks blank ({path.stat().st_size} bytes)"
    if os.environ.get("RADGUARD_DOC_SCREENSHOTS") == "1":
        from PIL import Image

        with Image.open(path) as shot:
            small = shot.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            small.save(DOC_IMG / name, optimize=True)
    return path
