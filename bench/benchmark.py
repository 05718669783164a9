"""Benchmark: eager (plain cdktf) vs fast cold vs cached synth; byoc lockdown vs terraform apply;
the independent policy evaluator's latency.

    .venv/bin/python bench/benchmark.py [--runs 5] [--only synth|lockdown|evaluator|demo] [--output BENCHMARKS.md]

Each measurement is a fresh process, timed from spawn to exit; the table shows medians of
``--runs`` runs (the three kinds interleaved, so load on the machine hits them alike):

1. eager synth:  ``BYOC_EAGER_IMPORT=1 python -m stacks.app --outdir DIR/cdktf.out``
2. fast synth:   ``byoc synth --force --project-dir DIR`` (stacks/fast_imports.py + lazy_provider.js)
3. cached synth: ``byoc synth --project-dir DIR`` right after (2), nothing changed

For (1) and (2) the peak RSS of the whole process tree (Python and its Node child) is sampled
from /proc every ~20 ms.

Lockdown (against the embedded emulator, a moto server on 127.0.0.1; ~2 min of setup): a project
gets ``byoc deploy`` (~80 s), ``byoc secret put`` and one ``byoc lockdown``; then, alternating,
``--runs`` times each, with nothing left to change:

4. ``byoc lockdown -y --project-dir DIR``
5. ``terraform apply -auto-approve -input=false -var-file=DIR/.byoc/inputs.tfvars.json`` in the
   stack folder, with the same AWS environment: what a user without byoc would run.

Evaluator (cli/core/evaluator: @cloud-copilot/iam-simulate in a resident Node process, installed
by ``ensure()`` into the user's cache if it is not there yet): ``--runs`` cold starts (spawn to the
first answer); then, on one warm process, ~500 evaluations of the requests a task start makes
(execution role and task role: GetSecretValue with the stack's secret policy through its endpoint,
kms:Decrypt with its key policy through Secrets Manager), timed one by one and four by four.

Each part is printed and written to its own section of BENCHMARKS.md (between its markers; other
content of that file is kept, and a part not run keeps its previous section). The code is run
from a copy taken at start (PYTHONPATH), so edits to the checkout during the run cannot mix in.
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
MARKERS = {"demo": ("<!-- benchmark-demo:start -->", "<!-- benchmark-demo:end -->"),
           "synth": ("<!-- benchmark:start -->", "<!-- benchmark:end -->"),
           "lockdown": ("<!-- benchmark-lockdown:start -->", "<!-- benchmark-lockdown:end -->"),
           "evaluator": ("<!-- benchmark-evaluator:start -->", "<!-- benchmark-evaluator:end -->")}
HEADINGS = {"demo": "## byoc demo", "synth": "## Synth", "lockdown": "## Lockdown vs plain terraform apply",
            "evaluator": "## Policy evaluator (iam-simulate, resident Node process)"}
# fast/eager, cached/eager, fast/eager peak RSS, lockdown/terraform apply, evaluator ms per task start
GOALS = {"fast": 0.3, "cached": 0.05, "rss": 1.0, "lockdown": 1.1, "task_start_ms": 50.0, "demo": 1.15}
#: `byoc demo` before the emulator evaluated policies (fresh clone of main, 2026-12-04): the
#: baseline of the demo's goal (at most 1.15x with the evaluated policies and the seed's failure).
DEMO_BEFORE_SECONDS = 175.0
#: Evaluations a task start needs: {execution, task} role x {GetSecretValue, kms:Decrypt}.
TASK_START_EVALUATIONS = 4
IMAGE = "public.ecr.aws/nginx/nginx:1.27"


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


def run(cmd: list[str], cwd: Path, env: dict[str, str], sample_rss: bool, stdin: str | None = None,
        expect: tuple[str, ...] = ()) -> tuple[float, int]:
    """Wall seconds and peak tree RSS in KiB (0 when not sampled); fails loudly on a failed run,
    or when the output lacks one of ``expect``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE)
    peak = 0
    if sample_rss:
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)
    # Synth prints ~1 KB at most: the pipe cannot fill up while sampling (no stdin then either).
    out, _ = proc.communicate(None if stdin is None else stdin.encode())
    seconds = time.perf_counter() - start
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"benchmark: {' '.join(cmd)} failed ({proc.returncode}):\n{text}")
    missing = [e for e in expect if e not in text]
    if missing:
        sys.exit(f"benchmark: {' '.join(cmd)} did not print {missing}:\n{text}")
    if "unavailable" in text or "end-of-life" in text.lower():
        print(f"benchmark: note, {cmd[-3:]} printed:\n{text}", file=sys.stderr)
    return seconds, peak


def _json_sha(project: Path) -> str:
    return hashlib.sha256((project / "cdktf.out" / "stacks" / "byoc" / "cdk.tf.json").read_bytes()).hexdigest()


def _byoc() -> str:
    byoc = shutil.which("byoc", path=str(Path(sys.executable).parent)) or shutil.which("byoc")
    if not byoc:
        sys.exit("benchmark: the byoc command is not installed (pip install -e .)")
    return byoc


def snapshot(dest: Path) -> dict[str, str]:
    """Copy the packages byoc runs from; the environment that makes every command use the copy."""
    for name in ("cli", "stacks", "constructs_lib"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("BYOC_EAGER_IMPORT", "BYOC_LAZY_PROVIDER_DEBUG", "AWS_ENDPOINT_URL")}
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(dest), env.get("PYTHONPATH")]))}


def measure(runs: int, base: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    byoc = _byoc()
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


def measure_lockdown(runs: int, base: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    from cli.emulator import running  # imports moto: only for this part
    from cli.core.terraform import find_provider_mirror

    byoc = _byoc()
    terraform = shutil.which("terraform") or sys.exit("benchmark: terraform is not on PATH")
    results = {k: {"seconds": [], "rss_kb": []} for k in ("lockdown", "apply")}
    with tempfile.TemporaryDirectory(prefix="byoc-bench-lockdown-") as tmp, running() as emu:
        project = Path(tmp, "project")
        project.mkdir()
        env = {**base, **emu.env()}  # the emulator's endpoint and fake credentials
        mirror = find_provider_mirror()  # this machine's copy of hashicorp/aws, else the registry
        deploy = [byoc, "deploy", "--container-image", IMAGE, "-y", "-C", str(project)]
        setup = [
            ("deploy (~80 s against moto)", deploy + (["--provider-mirror", str(mirror)] if mirror else []), None),
            ("secret put", [byoc, "secret", "put", "-C", str(project)], "bench-not-a-real-key\n"),
            ("first lockdown", [byoc, "lockdown", "-y", "-C", str(project)], None),
        ]
        for label, cmd, stdin in setup:
            print(f"  setup: {label} ...", flush=True)
            seconds, _ = run(cmd, project, env, False, stdin=stdin)
            print(f"  setup: {label} done in {seconds:.1f} s", flush=True)
        values = json.loads((project / ".byoc" / "inputs.tfvars.json").read_text())
        apply_env = {**base, **emu.env(values["aws_region"])}
        steps = [
            # Both must find nothing to change; the synth must be the fresh one (no jsii, no Node).
            ("lockdown", [byoc, "lockdown", "-y", "-C", str(project)], project, env,
             ("Synth: up to date", "already locked down")),
            ("apply", [terraform, "apply", "-auto-approve", "-input=false",
                       f"-var-file={project / '.byoc' / 'inputs.tfvars.json'}"],
             project / "cdktf.out" / "stacks" / "byoc", apply_env, ("0 added, 0 changed, 0 destroyed",)),
        ]
        for i in range(runs):
            for name, cmd, cwd, step_env, expect in (steps if i % 2 == 0 else steps[::-1]):
                seconds, _ = run(cmd, cwd, step_env, False, expect=expect)
                results[name]["seconds"].append(seconds)
                print(f"  run {i + 1}/{runs} {name:8s} {seconds:6.2f} s", flush=True)
    return results


def _task_start_requests():
    """The four requests of one task start, shaped as the stack writes its documents
    (constructs_lib/secrets.py, constructs_lib/kms.py)."""
    from cli.core.evaluator import PolicyRequest

    account, region, app = "111111111111", "us-east-1", "byoc-bench"
    secret = f"arn:aws:secretsmanager:{region}:{account}:secret:{app}/pinecone-api-key-AbCdEf"
    key = f"arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    roles = [f"arn:aws:iam::{account}:role/{app}-execution", f"arn:aws:iam::{account}:role/{app}-task"]
    vpce, via = "vpce-0123456789abcdef0", f"secretsmanager.{region}.amazonaws.com"
    read = "secretsmanager:GetSecretValue"
    doc = lambda *statements: {"Version": "2012-10-17", "Statement": list(statements)}  # noqa: E731
    secret_policy = doc(
        {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*", "Action": read,
         "Resource": secret, "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}},
        {"Sid": "DenyReadToUnlistedPrincipals", "Effect": "Deny", "Principal": "*", "Action": read,
         "Resource": secret, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": roles}}})
    key_policy = doc(
        {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": key},
        {"Sid": "CloudWatchLogsEncryptsThisStacksLogGroups", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": key, "Condition": {"StringEquals": {
             "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:/ecs/{app}"}}})
    grant = (f"{app}-secret-read", doc(
        {"Sid": "ReadPineconeSecret", "Effect": "Allow", "Action": read, "Resource": secret},
        {"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
         "Condition": {"StringEquals": {"kms:ViaService": via}}}))
    requests = []
    for role in roles:
        requests.append(PolicyRequest(role, read, secret, account, context={"aws:SourceVpce": vpce},
                                      identity_policies=[grant], resource_policy=secret_policy))
        requests.append(PolicyRequest(role, "kms:Decrypt", key, account,
                                      context={"kms:ViaService": via, "kms:EncryptionContext:SecretARN": secret},
                                      identity_policies=[grant], resource_policy=key_policy))
    return requests


def measure_evaluator(runs: int, evaluations: int = 500) -> dict[str, list[float]]:
    """Seconds: cold starts (spawn to first answer), each evaluation, each task start (4 in a row)."""
    from cli.core.evaluator import Evaluator, ensure

    folder = ensure(say=lambda line: print(f"  {line}", flush=True))
    requests = _task_start_requests()
    results: dict[str, list[float]] = {"cold": [], "evaluation": [], "task_start": []}
    for i in range(runs):
        start = time.perf_counter()
        with Evaluator(folder) as evaluator:
            decision = evaluator.evaluate(requests[0])
            results["cold"].append(time.perf_counter() - start)
        if not decision.allowed:
            sys.exit(f"benchmark: the evaluator did not allow the task start's read: {decision.reason}")
        print(f"  cold start {i + 1}/{runs} {results['cold'][-1] * 1000:7.1f} ms", flush=True)
    with Evaluator(folder) as evaluator:
        for request in requests * 5:  # warm-up
            evaluator.evaluate(request)
        for _ in range(evaluations // len(requests)):
            begin = time.perf_counter()
            for request in requests:
                t = time.perf_counter()
                decision = evaluator.evaluate(request)
                results["evaluation"].append(time.perf_counter() - t)
                if not decision.allowed:  # every request of a task start is allowed by the stack
                    sys.exit(f"benchmark: not allowed: {decision.reason}")
            results["task_start"].append(time.perf_counter() - begin)
    print(f"  {len(results['evaluation'])} warm evaluations done", flush=True)
    return results


def measure_demo(runs: int, base: dict[str, str]) -> list[float]:
    """``byoc demo`` end to end (a fresh temporary project each run; the evaluator already installed)."""
    seconds = []
    with tempfile.TemporaryDirectory(prefix="byoc-bench-demo-") as tmp:
        for i in range(runs):
            took, _ = run([_byoc(), "demo"], Path(tmp), base, False, expect=("demo passed",))
            seconds.append(took)
            print(f"  run {i + 1}/{runs} demo {took:6.1f} s", flush=True)
    return seconds


def report_demo(seconds: list[float], runs: int, load_note: str) -> str:
    med = statistics.median(seconds)
    ratio, goal = med / DEMO_BEFORE_SECONDS, GOALS["demo"]
    return "\n".join([
        f"Measured {datetime.date.today().isoformat()} by `bench/benchmark.py --runs {runs} --only demo`: `byoc demo` "
        "end to end, each run a fresh process and project, the policy evaluator already installed (its first "
        "install, once per machine: a few seconds of `npm ci`).",
        "",
        "| what | median wall time | vs before | goal |",
        "|---|---|---|---|",
        f"| `byoc demo` before policies were evaluated (2026-12-04, fresh clone) | {DEMO_BEFORE_SECONDS:.0f} s | 1× | — |",
        f"| `byoc demo` now: policies evaluated, the matrix, the seed's failure shown, named, repaired | {med:.0f} s | "
        f"{ratio:.2f}× | ≤ {goal}× **{'PASS' if ratio <= goal else 'FAIL'}** |",
        "",
        "All runs (seconds): " + ", ".join(f"{v:.1f}" for v in seconds),
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()) + ".",
        load_note,
    ]) + "\n"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report_evaluator(results, runs: int, load_note: str) -> str:
    from cli.core.evaluator import EVALUATOR

    ms = {k: [v * 1000 for v in values] for k, values in results.items()}
    med = {k: statistics.median(v) for k, v in ms.items()}
    p95 = {k: _p95(v) for k, v in ms.items()}
    goal = GOALS["task_start_ms"]
    verdict = "PASS" if p95["task_start"] <= goal else "FAIL"
    return "\n".join([
        f"Measured {datetime.date.today().isoformat()} by `bench/benchmark.py --runs {runs} --only evaluator`: "
        f"{EVALUATOR} in a resident Node process (cli/core/evaluator), driven from Python over stdin/stdout.",
        "",
        "| what | median | p95 | goal |",
        "|---|---|---|---|",
        f"| cold start: spawn node, load the package, first answer ({runs} runs) | {med['cold']:.0f} ms | "
        f"{p95['cold']:.0f} ms | — |",
        f"| one evaluation, warm ({len(ms['evaluation'])} evaluations) | {med['evaluation']:.2f} ms | "
        f"{p95['evaluation']:.2f} ms | — |",
        f"| one task start = {TASK_START_EVALUATIONS} evaluations, warm ({len(ms['task_start'])} task starts) | "
        f"{med['task_start']:.1f} ms | {p95['task_start']:.1f} ms | p95 ≤ {goal:.0f} ms **{verdict}** |",
        "",
        "A task start's requests: the execution role and the task role, each GetSecretValue on the secret "
        "(the stack's secret policy, through its endpoint) and kms:Decrypt on the key (the stack's key policy, "
        "kms:ViaService = Secrets Manager); all four allowed.",
        "",
        "Cold starts (ms): " + ", ".join(f"{v:.0f}" for v in ms["cold"]),
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()) + ".",
        load_note,
    ]) + "\n"


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


def report_synth(results, runs: int, load_note: str) -> str:
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
        load_note,
    ]
    return "\n".join(lines) + "\n"


def report_lockdown(results, runs: int, load_note: str) -> str:
    med = {k: statistics.median(v["seconds"]) for k, v in results.items()}
    ratio, goal = med["lockdown"] / med["apply"], GOALS["lockdown"]
    return "\n".join([
        f"Measured {datetime.date.today().isoformat()} by `bench/benchmark.py --runs {runs}`: medians of "
        f"{runs} runs, each a fresh process, alternating, on one project deployed to the embedded emulator "
        "(moto on 127.0.0.1) and already locked down, so neither command has anything to change.",
        "",
        "| what | command | median wall time | time vs terraform apply | goal |",
        "|---|---|---|---|---|",
        "| plain terraform (stack folder) | `terraform apply -auto-approve -input=false "
        f"-var-file=<project>/.byoc/inputs.tfvars.json` | {med['apply']:.2f} s | 1× | — |",
        f"| byoc lockdown (fresh synth reused) | `byoc lockdown -y` | {med['lockdown']:.2f} s | {ratio:.3f}× | "
        f"≤ {goal}× **{'PASS' if ratio <= goal else 'FAIL'}** |",
        "",
        "All runs (seconds): " + "; ".join(
            f"{k} " + ", ".join(f"{s:.2f}" for s in v["seconds"]) for k, v in results.items()),
        "",
        "`byoc lockdown` runs terraform plan (not apply) and, when the plan is empty, applies nothing; "
        "then it reads the secret policy back from AWS to verify the lock-down.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()) + ".",
        load_note,
    ]) + "\n"


def write(path: Path, part: str, section: str) -> None:
    start, end = MARKERS[part]
    block = f"{start}\n{section}{end}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + f"\n\n{HEADINGS[part]}\n\n{block}"
    path.write_text(text)


def _cpu_sample() -> tuple[float, float, float, str]:
    """(wall s, CPU s used by the whole machine, CPU s used by this process and its children, loadavg)."""
    fields = open("/proc/stat").readline().split()[1:]  # user nice system idle iowait irq softirq steal
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK")
    t = os.times()  # children: every measured command (and its Node/terraform) once waited for
    ours = t.user + t.system + t.children_user + t.children_system
    return time.monotonic(), busy, ours, " ".join(open("/proc/loadavg").read().split()[:3])


def machine_load(start: tuple[float, float, float, str]) -> str:
    """How much CPU other processes used during a part: the benchmark's own load is left out."""
    end = _cpu_sample()
    wall, busy, ours = (end[i] - start[i] for i in range(3))
    others = max(0.0, (busy - ours) / wall)
    line = (f"Other processes on the machine used {others:.2f} of {os.cpu_count()} cores on average during "
            f"this part (load average before: {start[3]}; after: {end[3]}).")
    if others > 0.25:
        line += " **The machine was busy**: absolute times are inflated; the ratios, of interleaved runs, less so."
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("synth", "lockdown", "evaluator", "demo"), help="run one part (default: all)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    parts = [args.only] if args.only else ["synth", "lockdown", "evaluator", "demo"]
    with tempfile.TemporaryDirectory(prefix="byoc-bench-code-") as code:
        base = snapshot(Path(code))
        sys.path.insert(0, code)  # the emulator (cli.emulator) runs in this process: the copy too
        for part in parts:
            print(f"{part}:", flush=True)
            start = _cpu_sample()
            if part == "synth":
                results = measure(args.runs, base)
                section = report_synth(results, args.runs, machine_load(start))
            elif part == "lockdown":
                results = measure_lockdown(args.runs, base)
                section = report_lockdown(results, args.runs, machine_load(start))
            elif part == "demo":
                results = measure_demo(args.runs, base)
                section = report_demo(results, args.runs, machine_load(start))
            else:
                results = measure_evaluator(args.runs)
                section = report_evaluator(results, args.runs, machine_load(start))
            print()
            print(section, end="")
            write(args.output, part, section)
            print(f"\nwritten to {args.output.name}\n", flush=True)


if __name__ == "__main__":
    main()
