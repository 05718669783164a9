"""Synth benchmark: eager (plain cdktf) vs fast cold vs cached synth, in the same run.

    .venv/bin/python bench/benchmark.py [--runs 5] [--output BENCHMARKS.md]

Each measurement is a fresh process, timed from spawn to exit; the table shows medians of
``--runs`` runs (the three kinds interleaved, so load on the machine hits them alike):

1. eager synth:  ``BYOC_EAGER_IMPORT=1 python -m stacks.app --outdir DIR/cdktf.out``
2. fast synth:   ``byoc synth --force --project-dir DIR``
3. cached synth: ``byoc synth --project-dir DIR`` right after (2), nothing changed

For (1) and (2) the peak RSS of the whole process tree (Python and its Node child) is sampled
from /proc every ~20 ms. The result is printed and written to the benchmark section of
BENCHMARKS.md (other content of that file is kept).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
GOALS = {"fast": 0.3, "cached": 0.05, "rss": 1.0}  # fast/eager, cached/eager, fast/eager peak RSS


def _children_map() -> dict[int, list[int]]:
    """ppid -> pids, from /proc/*/stat (this kernel has no /proc/<pid>/task/*/children)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and ')': ppid is the 2nd field after the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0  # gone, or a zombie (no VmRSS line)


def _tree_rss_kb(root: int) -> int:
    children, total, todo = _children_map(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo.extend(children.get(pid, ()))
    return total


def run(cmd: list[str], cwd: Path, env: dict[str, str], sample_rss: bool) -> tuple[float, int]:
    """Wall seconds and peak tree RSS in KiB (0 when not sampled); fails loudly on a failed run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    if sample_rss:
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)
    out, _ = proc.communicate()  # ~1 KB of output at most: the pipe cannot fill up while sampling
    seconds = time.perf_counter() - start
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"benchmark: {' '.join(cmd)} failed ({proc.returncode}):\n{text}")
    if "fast synth unavailable" in text or "end-of-life" in text.lower():
        print(f"benchmark: note, {cmd[-3:]} printed:\n{text}", file=sys.stderr)
    return seconds, peak


def _json_sha(project: Path) -> str:
    return hashlib.sha256((project / "cdktf.out" / "stacks" / "byoc" / "cdk.tf.json").read_bytes()).hexdigest()


def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    byoc = shutil.which("byoc", path=str(Path(sys.executable).parent)) or shutil.which("byoc")
    if not byoc:
        sys.exit("benchmark: the byoc command is not installed (pip install -e .)")
    base = {k: v for k, v in os.environ.items() if k != "BYOC_EAGER_IMPORT"}
    eager_env = {**base, "BYOC_EAGER_IMPORT": "1"}
    results = {k: {"seconds": [], "rss_kb": []} for k in ("eager", "fast", "cached")}
    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as tmp:
        for i in range(runs):
            eager_dir, fast_dir = Path(tmp, f"eager{i}"), Path(tmp, f"fast{i}")
            eager_dir.mkdir()
            fast_dir.mkdir()
            steps = [
                ("eager", [sys.executable, "-m", "stacks.app", "--outdir", str(eager_dir / "cdktf.out")],
                 eager_dir, eager_env, True),
                ("fast", [byoc, "synth", "--force", "--project-dir", str(fast_dir)], fast_dir, base, True),
                ("cached", [byoc, "synth", "--project-dir", str(fast_dir)], fast_dir, base, False),
            ]
            if i % 2:  # alternate which synth goes first
                steps[0], steps[1] = steps[1], steps[0]
            for name, cmd, cwd, env, sample in steps:
                seconds, peak = run(cmd, cwd, env, sample)
                results[name]["seconds"].append(seconds)
                results[name]["rss_kb"].append(peak)
                print(f"  run {i + 1}/{runs} {name:6s} {seconds:6.2f} s"
                      + (f"  peak RSS {peak / 1024:6.0f} MiB" if sample else ""), flush=True)
            if _json_sha(eager_dir) != _json_sha(fast_dir):
                sys.exit("benchmark: the fast and eager cdk.tf.json differ")
    return results


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "not found"


def machine() -> dict[str, str]:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    tf = _version(["terraform", "version", "-json"])
    try:
        tf = json.loads(tf)["terraform_version"]
    except ValueError:
        pass
    pkgs = ", ".join(f"{p} {metadata.version(p)}" for p in ("cdktf", "cdktf-cdktf-provider-aws", "jsii"))
    return {"cores": str(os.cpu_count()), "RAM": f"{mem_kb / 2**20:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}", "Python": platform.python_version(),
            "Node": _version(["node", "--version"]), "Terraform": tf, "packages": pkgs}


def report(results, runs: int, load_before: str, load_after: str) -> str:
    med = {k: {m: statistics.median(v[m]) for m in v} for k, v in results.items()}
    eager_s, eager_rss = med["eager"]["seconds"], med["eager"]["rss_kb"]
    rows = [
        ("eager synth (plain cdktf import)", "`BYOC_EAGER_IMPORT=1 python -m stacks.app`", med["eager"], None, None),
        ("fast cold synth", "`byoc synth --force`", med["fast"], med["fast"]["seconds"] / eager_s, GOALS["fast"]),
        ("cached synth (nothing changed)", "`byoc synth`", med["cached"],
         med["cached"]["seconds"] / eager_s, GOALS["cached"]),
    ]
    lines = [
        f"Measured {datetime.date.today().isoformat()} by `bench/benchmark.py --runs {runs}`: medians of "
        f"{runs} runs, each a fresh process, the three kinds interleaved in the same run.",
        "",
        "| what | command | median wall time | time vs eager | goal | peak RSS (Python + Node) |",
        "|---|---|---|---|---|---|",
    ]
    for label, cmd, m, ratio, goal in rows:
        verdict = "" if goal is None else f"≤ {goal}× **{'PASS' if ratio <= goal else 'FAIL'}**"
        rss = f"{m['rss_kb'] / 1024:.0f} MiB" if m["rss_kb"] else "not sampled (no Node)"
        lines.append(f"| {label} | {cmd} | {m['seconds']:.2f} s | "
                     f"{'1×' if ratio is None else f'{ratio:.3f}×'} | {verdict or '—'} | {rss} |")
    rss_ratio = med["fast"]["rss_kb"] / eager_rss
    lines += [
        "",
        f"Peak RSS of the process tree, fast / eager: **{rss_ratio:.2f}×** (goal ≤ {GOALS['rss']}×: "
        f"**{'PASS' if rss_ratio <= GOALS['rss'] else 'FAIL'}**).",
        "",
        "All runs (seconds): " + "; ".join(
            f"{k} " + ", ".join(f"{s:.2f}" for s in v["seconds"]) for k, v in results.items()),
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()) + ".",
        f"Load average (1/5/15 min) before: {load_before}; after: {load_after}.",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, section: str) -> None:
    block = f"{START}\n{section}{END}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n## Synth\n\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block if text.strip() else block
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    results = measure(args.runs)
    load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    section = report(results, args.runs, load_before, load_after)
    print()
    print(section, end="")
    write(args.output, section)
    print(f"\nwritten to {args.output.name}")


if __name__ == "__main__":
    main()
