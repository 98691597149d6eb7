"""Downloading the feeds: CISA KEV and CISA's CSAF medical advisories (ICSMA).

Only ever run when a person asks (``radguard feeds update``). Everything downloaded is parsed
exactly like an imported file before anything is stored, so a bad download changes nothing.
A machine without Internet access gets a clear error and the manual alternative (download
elsewhere, then ``radguard feeds import``). The URLs can be pointed at a local mirror.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from radguard.errors import RadguardError
from radguard.feeds.importer import parse_bytes
from radguard.feeds.records import ParsedFeed

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
CSAF_BASE_URL = "https://raw.githubusercontent.com/cisagov/CSAF/develop/csaf_files/OT/white/"
ENV_KEV_URL = "RADGUARD_KEV_URL"
ENV_CSAF_BASE_URL = "RADGUARD_CSAF_BASE_URL"


class FeedUnavailableError(RadguardError):
    """A feed could not be downloaded (offline, proxy, or the server refused)."""

    exit_code = 5


@dataclass
class UpdateSources:
    kev_url: str
    csaf_base_url: str
    prefix: str = "icsma-"  # CISA's medical advisories; "" takes every ICS advisory

    @classmethod
    def default(cls, kev_url: str | None = None, csaf_base_url: str | None = None) -> UpdateSources:
        return cls(kev_url or os.environ.get(ENV_KEV_URL, KEV_URL),
                   csaf_base_url or os.environ.get(ENV_CSAF_BASE_URL, CSAF_BASE_URL))


def _get(client: httpx.Client, url: str) -> bytes:
    try:
        response = client.get(url)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise FeedUnavailableError(
            f"cannot reach {httpx.URL(url).host} to download {url} ({exc}); this machine seems to be offline "
            "or behind a proxy. Download the feed files on a connected machine and run "
            "`radguard feeds import FILE_OR_DIR...` here instead."
        ) from exc
    except httpx.HTTPError as exc:
        raise FeedUnavailableError(f"downloading {url} failed: {exc}; nothing was changed") from exc
    if response.status_code != 200:
        raise FeedUnavailableError(
            f"downloading {url} failed: HTTP {response.status_code}; nothing was changed")
    return response.content


def download_feeds(sources: UpdateSources, *, timeout: float = 30.0,
                   progress: Callable[[str, int, int], None] | None = None) -> list[ParsedFeed]:
    """Download and parse KEV and every listed CSAF advisory; raise before storing anything."""
    feeds: list[ParsedFeed] = []
    with httpx.Client(timeout=timeout, follow_redirects=True,
                      headers={"User-Agent": "radguard feeds update"}) as client:
        feeds.append(parse_bytes(_get(client, sources.kev_url), sources.kev_url))
        base = sources.csaf_base_url if sources.csaf_base_url.endswith("/") else sources.csaf_base_url + "/"
        index = _get(client, base + "index.txt").decode("utf-8", "replace")
        names = [line.strip() for line in index.splitlines()
                 if line.strip().endswith(".json") and line.strip().rsplit("/", 1)[-1].startswith(sources.prefix)]
        for i, name in enumerate(names, 1):
            url = base + name
            feeds.append(parse_bytes(_get(client, url), url))
            if progress:
                progress(name, i, len(names))
    return feeds
