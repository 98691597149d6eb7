"""Scanner and platform results taken in as discovery evidence.

nmap ``-oX``, Nessus ``.nessus`` and Greenbone/OpenVAS XML reports, and IoMT platforms' device
CSV exports, are read into the same endpoint documents radguard's own discovery produces
(:mod:`radguard.discovery.results`) and stored with discovery's merge
(:mod:`radguard.discovery.imports.store`), so checks, findings and the inventory treat them as
one body of evidence and an endpoint found by both is recorded once. They live here, beside
discovery, because they *are* discovery results made by another tool.
"""

from __future__ import annotations

from pathlib import Path

from radguard.discovery.imports.store import ImportedReport
from radguard.errors import InputError

FORMATS = ("nmap", "nessus", "greenbone", "iomt-csv")


def read_report(tool: str, path: Path, profile: str | None = None,
                overrides: dict[str, str] | None = None) -> ImportedReport:
    """Parse a report of kind ``tool`` (one of :data:`FORMATS`); nothing is stored.

    :param tool: the report's format.
    :param path: the file.
    :param profile: for ``iomt-csv``, the column-name profile (see docs/integrations.md).
    :param overrides: for ``iomt-csv``, field → header name.
    """
    if tool == "nmap":
        from radguard.discovery.imports.nmap import read_nmap

        endpoints, skipped, facts = read_nmap(path)
        return ImportedReport("nmap", path, endpoints, skipped, facts)
    if tool == "nessus":
        from radguard.discovery.imports.nessus import read_nessus

        return read_nessus(path)
    if tool == "greenbone":
        from radguard.discovery.imports.greenbone import read_greenbone

        return read_greenbone(path)
    if tool == "iomt-csv":
        from radguard.discovery.imports.iomt import read_iomt_csv

        return read_iomt_csv(path, profile, overrides)
    raise InputError("FORMAT", None, None, f"{tool!r} is not a report format; use one of {', '.join(FORMATS)}")
