"""Benchmark: ``radguard backup verify`` against ``xargs sha256sum`` and ``xargs b3sum`` on the same files.

Generates N real-shaped DICOM files (default 5,000) from pydicom's bundled test files with
fresh UIDs: CT slices at 512×512 and MR slices at 256×256, 16-bit, built on the CT_small and
MR_small headers, plus JPEG 2000, RLE, implicit-VR RT dose, deflated and big-endian instances
at their native sizes. Then, on the same (page-cached) files, ``--rounds`` times in turn
(interleaved, so a change in the machine's load hits every tool alike):

1. ``cat`` of every file to /dev/null: the read-only floor (what the disk/page cache gives);
2. ``find DIR -type f -print0 | xargs -0 sha256sum``;
3. ``find DIR -type f -print0 | xargs -0 b3sum`` (Debian's b3sum: BLAKE3, SIMD, multi-threaded);
4. ``radguard backup verify`` (walk + read once + BLAKE3 + DICOM walk + reconcile).

The manifest is written once before the rounds. Reported: the best time of each, MB/s and
files/s, ``verify / b3sum`` (goal: ≤ 1.5) and ``sha256sum / verify``, and the per-file overhead:
(verify − b3sum) / files, and the CLI start-up (``radguard --version``) that verify includes.

Not run in CI (it takes minutes and the figures depend on the machine).

Usage: .venv/bin/python benchmarks/backup_verify.py [--files 5000] [--rounds 3] [--dir /tmp/rg-bench-backup] [--keep]
The files are written under /tmp and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = {k: (f"1.2.826.0.1.3680043.8.498.9{k}".ljust(64, "9")) for k in ("1", "2", "3")}
# (template, clinical side or None for native size, share of instances)
MIX = (("CT_small.dcm", 512, 0.20), ("MR_small.dcm", 256, 0.40), ("JPEG2000.dcm", None, 0.08),
       ("SC_rgb_rle.dcm", None, 0.08), ("rtdose.dcm", None, 0.08), ("image_dfl.dcm", None, 0.04),
       ("MR_small_bigendian.dcm", None, 0.06), ("CT_small.dcm", None, 0.06))


def _template_bytes(name: str, side: int | None) -> bytes:
    """The template serialised once, with fixed-length placeholder UIDs to patch per instance."""
    ds = pydicom.dcmread(get_testdata_file(name))
    if side:
        pixels = bytes(ds.PixelData)
        need = side * side * 2
        ds.Rows = ds.Columns = side
        ds.PixelData = (pixels * (need // len(pixels) + 1))[:need]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = PLACEHOLDER["1"], PLACEHOLDER["2"]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = PLACEHOLDER["3"]
    ds.PatientName, ds.PatientID = "Bench^Patient", "BENCH0001"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    if name == "image_dfl.dcm":  # deflated body: UIDs inside the compressed stream cannot be patched
        return data
    assert data.count(PLACEHOLDER["3"].encode()) == 2, name
    return data


def generate(root: Path, files: int) -> int:
    templates = [(_template_bytes(name, side), share, name == "image_dfl.dcm") for name, side, share in MIX]
    total = 0
    n = 0
    per_series = 50
    series_no = 0
    while n < files:
        for data, share, deflated in templates:
            count = max(1, round(share * per_series * 2))
            series_no += 1
            study = f"1.2.826.0.1.3680043.8.498.1{series_no // 4:012d}".ljust(64, "0")
            series = f"1.2.826.0.1.3680043.8.498.2{series_no:012d}".ljust(64, "0")
            folder = root / f"P{series_no // 4:06d}" / f"S{series_no:07d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                if n >= files:
                    return total
                sop = f"1.2.826.0.1.3680043.8.498.3{series_no:012d}{i:06d}".ljust(64, "0")
                body = (data.replace(PLACEHOLDER["1"].encode(), study.encode())
                        .replace(PLACEHOLDER["2"].encode(), series.encode())
                        .replace(PLACEHOLDER["3"].encode(), sop.encode()))
                if deflated:  # UIDs inside the compressed body cannot be patched: write it with pydicom
                    ds = pydicom.dcmread(io.BytesIO(data))
                    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
                    out = io.BytesIO()
                    ds.save_as(out, enforce_file_format=True)
                    body = out.getvalue()
                (folder / f"IM{i:05d}").write_bytes(body)
                total += len(body)
                n += 1
    return total


def timed(cmd: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rg-bench-backup"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    src = args.dir / "archive"
    shutil.rmtree(args.dir, ignore_errors=True)
    src.mkdir(parents=True)
    t0 = time.perf_counter()
    total = generate(src, args.files)
    gen_s = time.perf_counter() - t0
    env = {**os.environ, "XDG_CACHE_HOME": str(args.dir / "cache")}
    rg = f"{sys.executable} -m radguard.cli.main"
    manifest = args.dir / "archive.radguard-manifest.jsonl"
    results: dict[str, object] = {"files": args.files, "bytes": total, "generate_s": round(gen_s, 1),
                                  "workers": args.workers, "cpus": os.cpu_count(),
                                  "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    files = f"find {src} -type f -print0 | xargs -0"
    tools = {"cat": f"{files} cat > /dev/null", "sha256sum": f"{files} sha256sum > /dev/null",
             "b3sum": f"{files} b3sum > /dev/null",
             "verify": f"{rg} backup verify {src} --manifest {manifest} --workers {args.workers} --json"}
    times: dict[str, list[float]] = {name: [] for name in tools}
    try:
        timed(tools["cat"])  # warm the page cache
        man_s, man = timed(f"{rg} backup manifest {src} -o {manifest} --workers {args.workers} --json", env)
        assert man.returncode == 0, man.stderr
        inside: dict[str, object] = {}
        for _ in range(args.rounds):
            for name, cmd in tools.items():
                took, proc = timed(cmd, env)
                assert proc.returncode == 0, (name, proc.stderr)
                times[name].append(took)
                if name == "verify":
                    report = json.loads(proc.stdout)
                    assert report["counts"]["ok"] == args.files, report["counts"]
                    inside = report["throughput"]
        startup_s = min(timed(f"{rg} --version")[0] for _ in range(3))
        best = {name: min(t) for name, t in times.items()}
        for name, t in times.items():
            results[f"{name}_s"] = [round(x, 2) for x in t]
            results[f"{name}_MBps"] = round(total / best[name] / 1e6, 1)
            results[f"{name}_files_per_s"] = round(args.files / best[name], 1)
        results.update({
            "manifest_s": round(man_s, 2), "manifest_MBps": round(total / man_s / 1e6, 1),
            "verify_inside_run": inside,
            "cli_startup_s": round(startup_s, 3),
            "ratio_verify_over_b3sum": round(best["verify"] / best["b3sum"], 2),
            "ratio_sha256sum_over_verify": round(best["sha256sum"] / best["verify"], 2),
            "overhead_ms_per_file_vs_b3sum": round((best["verify"] - best["b3sum"]) / args.files * 1000, 3),
            "peak_rss_MB_any_process": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "manifest_MB": round(manifest.stat().st_size / 1e6, 1),
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        })
        print(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
