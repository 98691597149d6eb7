"""Streaming the tshark tap's facts: tshark decodes, ``tap.lua`` prints an allow-list, this checks it.

tshark runs as a child process whose stdout is read line by line, so a capture of any size is
never held in memory. Each line is validated again here (types, lengths, UIDs, addresses);
a line that fails is counted and dropped, never stored.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from radguard.errors import InputError
from radguard.passive import wire

TSHARK = "/usr/bin/tshark"
TAP = Path(__file__).with_name("tap.lua")
MAX_LINE = 1 << 20  # one association with 128 contexts is ~10 kB; anything longer is dropped
_MAGIC = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f]")  # one regex search per string: a per-character loop was the read's hot spot
# tshark prints a known abstract syntax as "Name (UID)", radguard's own reader the bare UID.
_ABSTRACT = re.compile(r"(?:\(|^)([0-9.]{1,64})\)?\s*$")
_KINDS = {"dicom", "dimse", "hl7", "http", "tls", "flow"}


@dataclass
class ReadStats:
    """What reading a capture skipped, for the import summary."""

    facts: int = 0
    invalid: int = 0
    oversized: int = 0
    frames: int = 0  # packets tshark read
    malformed: int = 0  # packets a dissector found truncated or malformed
    malformed_frames: list[int] = field(default_factory=list)  # the first 20 of them
    warnings: list[str] = field(default_factory=list)


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise ValueError("bad text")
    return value.strip() or None


def _uid(value: Any) -> str | None:
    text = _text(value, 64)
    if text is not None and not _UID.match(text):
        raise ValueError("bad UID")
    return text


def _port(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ValueError("bad port")
    return value


def _addr(value: Any) -> str:
    return str(ipaddress.ip_address(_text(value, 64) or ""))


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("bad number")
    return value


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """One tap line as a checked fact; raises ValueError for anything unexpected."""
    out = _validated_head(raw)
    if out["t"] == "dicom":
        out.update(_dicom_body(raw))
    return out


def _validated_head(raw: dict[str, Any]) -> dict[str, Any]:
    """A fact's kind, stream and endpoints checked, and every kind's own fields but DICOM's."""
    kind = raw.get("t")
    if kind not in _KINDS:
        raise ValueError("unknown fact")
    out: dict[str, Any] = {"t": kind, "id": _text(raw.get("id"), 32)}
    if kind == "flow":
        if raw.get("proto") not in ("tcp", "udp"):
            raise ValueError("bad protocol")
        out.update(proto=raw["proto"], client=_addr(raw.get("client")), client_port=_port(raw.get("client_port")),
                   server=_addr(raw.get("server")), server_port=_port(raw.get("server_port")),
                   packets=_int(raw.get("packets")) or 0, client_bytes=_int(raw.get("client_bytes")) or 0,
                   server_bytes=_int(raw.get("server_bytes")) or 0, first=float(raw["first"]),
                   last=float(raw["last"]), tls=bool(raw.get("tls")))
        return out
    out.update(src=_addr(raw.get("src")), src_port=_port(raw.get("src_port")), dst=_addr(raw.get("dst")),
               dst_port=_port(raw.get("dst_port")), time=float(raw["time"]))
    if kind == "dimse":
        out.update(command=_int(raw.get("command")), move_destination=_text(raw.get("move_destination"), 16))
    elif kind == "hl7":
        out.update({k: _text(raw.get(k), 64) for k in ("msh3", "msh4", "msh5", "msh6", "type", "event")})
    elif kind == "http":
        out.update(request=bool(raw.get("request")), host=_text(raw.get("host"), 128),
                   server=_text(raw.get("server"), 128), authorization=bool(raw.get("authorization")),
                   cookie=bool(raw.get("cookie")))
    elif kind == "tls":
        out.update(version=_int(raw.get("version")), cipher=_int(raw.get("cipher")),
                   cipher_name=_text(raw.get("cipher_name"), 64))
    return out


def _dicom_body(raw: dict[str, Any]) -> dict[str, Any]:
    """A DICOM PDU fact's own fields checked (the same for every repeat of the same PDU)."""
    pdu = _int(raw.get("pdu"))
    if pdu not in (1, 2, 3, 7):
        raise ValueError("bad PDU type")
    contexts = []
    for ctx in raw.get("contexts") or []:
        abstract = _text(ctx.get("abstract"), 200)
        match = _ABSTRACT.search(abstract) if abstract else None
        contexts.append({"id": _int(ctx.get("id")), "abstract": match.group(1) if match else None,
                         "result": _int(ctx.get("result"))})
    return {"pdu": pdu, "calling": _text(raw.get("calling"), 16), "called": _text(raw.get("called"), 16),
            "uid": _uid(raw.get("uid")), "version": _text(raw.get("version"), 16),
            "reject_result": _int(raw.get("reject_result")), "reject_source": _int(raw.get("reject_source")),
            "reject_reason": _int(raw.get("reject_reason")), "contexts": contexts[:256]}


def _validate_cached(raw: dict[str, Any], bodies: dict[bytes, dict[str, Any] | None]) -> dict[str, Any]:
    """``validate`` for the fast path's facts: an association PDU whose bytes were seen before
    (a modality proposes the same contexts on every association) reuses that PDU's checked fields."""
    key = raw.pop("_body", None)
    if key is None or raw.get("t") != "dicom":
        return validate(raw)
    out = _validated_head(raw)
    if key in bodies:
        body = bodies[key]
    else:
        try:
            body = _dicom_body(raw)
        except (ValueError, TypeError, KeyError, AttributeError):
            body = None
        if len(bodies) >= 256:
            bodies.clear()
        bodies[key] = body
    if body is None:
        raise ValueError("bad DICOM PDU")
    out.update(body)
    return out


def check_capture(path: Path) -> None:
    """A located InputError unless ``path`` is a readable pcap or pcapng file."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(str(path), None, None, f"cannot read the capture: {exc.strerror}") from None
    if magic not in _MAGIC:
        raise InputError(str(path), "byte 0", None, "not a pcap or pcapng capture (unknown file header)")


def _tshark_cmd(path: str, hl7_ports: tuple[int, ...]) -> list[str]:
    # Out-of-order segments are common on SPAN ports; tshark only reassembles them when asked.
    # dicom.pdv_reassemble:FALSE: the tap reads association PDUs and command sets, which travel
    # in one PDV; reassembling every data set's fragments only to decode (and walk) each image's
    # tags was two thirds of the run (docs/benchmarks.md, passive capture reading).
    cmd = [TSHARK, "-q", "-n", "-r", path, "-o", "dicom.heuristic:TRUE", "-o", "dicom.tag_tree:TRUE",
           "-o", "tcp.reassemble_out_of_order:TRUE", "-o", "dicom.pdv_reassemble:FALSE",
           "-X", f"lua_script:{TAP}"]
    for port in hl7_ports:
        cmd += ["-d", f"tcp.port=={port},hl7"]
    return cmd


def _tap_lines(out: IO[bytes], stats: ReadStats, end: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Validated facts from the tap's output; its closing line's counts go into ``end``."""
    while True:
        line = out.readline(MAX_LINE + 1)
        if not line:
            break
        if len(line) > MAX_LINE:
            stats.oversized += 1
            while line and not line.endswith(b"\n"):
                line = out.readline(MAX_LINE)
            continue
        try:
            raw = json.loads(line)
            if isinstance(raw, dict) and raw.get("t") == "end":
                end["frames"] = _int(raw.get("frames")) or 0
                end["malformed"] = _int(raw.get("malformed")) or 0
                end["malformed_frames"] = [n for n in raw.get("malformed_frames") or [] if isinstance(n, int)][:20]
                continue
            fact = validate(raw)
        except (ValueError, TypeError, KeyError, AttributeError):
            stats.invalid += 1
            continue
        stats.facts += 1
        yield fact


def read_capture(path: Path, hl7_ports: tuple[int, ...], stats: ReadStats, *,
                 engine: str = "auto") -> Iterator[dict[str, Any]]:
    """Yield the validated facts of one capture; fill ``stats``.

    :param engine: ``auto`` (classic pcap files: DICOM connections read in Python, the rest by
        tshark, see :mod:`radguard.passive.wire`; anything else all by tshark) or ``tshark``
        (every packet through tshark and the tap, as before; the comparison tests use it).
    """
    check_capture(path)
    if engine not in ("auto", "tshark"):
        raise ValueError("engine must be auto or tshark")
    if engine == "auto":
        with open(path, "rb") as fh:
            header = wire.fast_header(fh.read(40 + wire.MAX_PACKET))
        if header is not None:
            yield from _read_fast(path, hl7_ports, stats)
            return
    yield from _read_tshark(path, hl7_ports, stats)


def _read_tshark(path: Path, hl7_ports: tuple[int, ...], stats: ReadStats) -> Iterator[dict[str, Any]]:
    """Every packet through tshark and the tap, streamed line by line."""
    cmd = _tshark_cmd(str(path), hl7_ports)
    end: dict[str, Any] = {}
    # stderr goes to a file: a pipe nobody reads while stdout streams would fill and stall tshark.
    with tempfile.TemporaryFile() as errfile, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile) as proc:
        assert proc.stdout is not None
        yield from _tap_lines(proc.stdout, stats, end)
        code = proc.wait()
        errfile.seek(0)
        err = errfile.read(65536).decode("utf-8", "replace")
    stats.frames = end.get("frames", 0)
    stats.malformed = end.get("malformed", 0)
    stats.malformed_frames = end.get("malformed_frames", [])
    problems = [ln.strip() for ln in err.splitlines() if ln.strip() and "dangerous" not in ln]
    if code != 0 and stats.frames == 0:
        raise InputError(str(path), "packet 1", None, "tshark could not read the capture: "
                         + (_plain(" ".join(problems[:2])) if problems else f"exit status {code}"))
    if code != 0:
        stats.warnings.append(f"{path.name}: stopped at packet {stats.frames + 1}: "
                              + (_plain(" ".join(problems[:2])) if problems else f"tshark exit status {code}")
                              + f"; the {stats.frames} packets before it were read")
    _malformed_warning(path, stats)
    if code == 0:
        stats.warnings.extend(f"{path.name}: {_plain(p)}" for p in problems[:3])


def _malformed_warning(path: Path, stats: ReadStats) -> None:
    if stats.malformed:
        shown = ", ".join(str(n) for n in stats.malformed_frames)
        more = f" and {stats.malformed - len(stats.malformed_frames)} more" if stats.malformed > len(
            stats.malformed_frames) else ""
        stats.warnings.append(f"{path.name}: {stats.malformed} packets truncated or malformed (packet {shown}{more});"
                              " what they carried was skipped")


def _read_fast(path: Path, hl7_ports: tuple[int, ...], stats: ReadStats) -> Iterator[dict[str, Any]]:
    """One pass in Python (:class:`radguard.passive.wire.FastReader`): DICOM connections' facts
    are yielded as it reads; every other packet is piped to tshark and the tap, whose facts (kept
    in a temporary file meanwhile) follow. Packet numbers are the file's own throughout."""
    end: dict[str, Any] = {}
    with tempfile.TemporaryFile() as outfile, tempfile.TemporaryFile() as errfile, \
            tempfile.TemporaryFile() as frame_map, open(path, "rb", buffering=1 << 20) as fh:
        with subprocess.Popen(_tshark_cmd("-", hl7_ports), stdin=subprocess.PIPE, stdout=outfile,
                              stderr=errfile) as proc:
            assert proc.stdin is not None
            reader = wire.FastReader(fh, proc.stdin, hl7_ports, frame_map)
            bodies: dict[bytes, dict[str, Any] | None] = {}
            try:
                for raw in reader.facts():
                    try:
                        fact = _validate_cached(raw, bodies)
                    except (ValueError, TypeError, KeyError, AttributeError):
                        stats.invalid += 1
                        continue
                    stats.facts += 1
                    yield fact
            finally:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            code = proc.wait()
        outfile.seek(0)
        yield from _tap_lines(outfile, stats, end)
        errfile.seek(0)
        err = errfile.read(65536).decode("utf-8", "replace")
        frames = []
        for n in end.get("malformed_frames", []):
            if 1 <= n <= reader.sent:
                frame_map.seek((n - 1) * 4)
                frames.append(int.from_bytes(frame_map.read(4), sys.byteorder))
    stats.frames = reader.frames
    stats.malformed = reader.malformed_count + end.get("malformed", 0)
    stats.malformed_frames = sorted(reader.malformed + frames)[:20]
    problems = [ln.strip() for ln in err.splitlines() if ln.strip() and "dangerous" not in ln]
    if reader.error is not None:
        stats.warnings.append(f"{path.name}: stopped at packet {stats.frames + 1}: "
                              + _plain(reader.error.replace("{file}", str(path)))
                              + f"; the {stats.frames} packets before it were read")
    if code != 0 or reader.broken:
        stats.warnings.append(f"{path.name}: tshark stopped reading the packets radguard does not decode itself: "
                              + (_plain(" ".join(problems[:2])) if problems else f"exit status {code}"))
    _malformed_warning(path, stats)
    if code == 0:
        stats.warnings.extend(f"{path.name}: {_plain(p)}" for p in problems[:3])


def _plain(message: str) -> str:
    """tshark's message without its program-name prefix, cut to 300 characters."""
    return message.removeprefix("tshark: ").rstrip(".")[:300]


DUMPCAP = "/usr/bin/dumpcap"
MAX_LIVE_SECONDS = 24 * 3600


def capture_live(interface: str, seconds: int, path: Path, max_megabytes: int = 2048) -> Path:
    """Capture on ``interface`` for ``seconds`` into ``path`` (pcapng) with Debian's dumpcap.

    Both bounds are dumpcap's own autostop conditions (``-a duration``, ``-a filesize``), so the
    capture ends even if radguard is stopped; nothing is sent on the interface.
    """
    if not 1 <= seconds <= MAX_LIVE_SECONDS:
        raise InputError("--seconds", None, None, f"must be between 1 and {MAX_LIVE_SECONDS}")
    if not 1 <= max_megabytes <= 1 << 20:
        raise InputError("--max-megabytes", None, None, "must be between 1 and 1048576")
    cmd = [DUMPCAP, "-q", "-i", interface, "-a", f"duration:{seconds}", "-a", f"filesize:{max_megabytes * 1000}",
           "-w", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise InputError("--interface", interface, None, "dumpcap did not stop in time") from None
    if done.returncode != 0 or not path.exists():
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError("--interface", interface, None, "cannot capture: " + (
            err[-1][:300] if err else f"dumpcap exit status {done.returncode}")
            + " (is the interface name right, and may this user capture? see `dumpcap -D`)")
    return path
