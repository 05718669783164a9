"""``cli.emulator.serve``: the emulator in the foreground, as ``byoc emulator`` runs it — the same
two lines, then "Emulator stopped." on Ctrl-C, and the KeyboardInterrupt left to the caller."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli.emulator import free_port

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]


def _until_ctrl_c(argv: list[str]) -> tuple[list[str], str, int]:
    """Run argv until its two lines are out, press Ctrl-C: (the two lines, the rest, exit code)."""
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    finally:
        proc.kill()
    return [line.rstrip("\n") for line in lines], rest, proc.returncode


def test_serve_says_what_byoc_emulator_says_and_leaves_the_interrupt_to_its_caller():
    port = free_port()
    serve = "from cli.emulator import serve; serve(int(sys.argv[1]), lambda line: print(line, flush=True))"
    said, rest, code = _until_ctrl_c([sys.executable, "-c", f"import sys; {serve}", str(port)])
    assert said[0] == f"Emulator listening on http://127.0.0.1:{port} (Ctrl-C to stop). In another shell:"
    assert said[1].startswith(f"  export AWS_ENDPOINT_URL=http://127.0.0.1:{port} AWS_ACCESS_KEY_ID=")
    assert rest.startswith("Emulator stopped.\n") and "KeyboardInterrupt" in rest
    assert code == -signal.SIGINT  # re-raised: Python ends an uncaught KeyboardInterrupt with SIGINT

    byoc, _, _ = _until_ctrl_c([sys.executable, "-m", "cli.main", "emulator", "--port", str(port)])
    assert said == byoc


def test_concurrent_writes_and_reads_are_each_answered_whole_as_aws_answers_them(emulator):
    """Terraform sends ten requests at once. moto's backends are unlocked dicts, so without the
    server's one-request-at-a-time rule a read iterating the rules meets a write adding one
    (RuntimeError → an HTML 500), the SDK retries the write, and the retry is refused as
    InvalidPermission.Duplicate: the CI failure this test was written from."""
    import threading

    import boto3
    import botocore.config

    def client():  # no retries: a 500 the SDK would hide by retrying is what this test must see
        return boto3.client("ec2", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}))

    vpc = client().create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    errors: list[str] = []
    groups: list[str] = []

    def work(worker: int) -> None:
        ec2 = client()
        for n in range(12):
            try:
                group = ec2.create_security_group(GroupName=f"g{worker}-{n}", Description="t", VpcId=vpc)["GroupId"]
                ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
                ec2.describe_security_group_rules()  # iterates every group while others add theirs
                groups.append(group)
            except Exception as exc:  # every refusal is the finding: none is expected
                errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    # A loaded CI machine switches threads at awkward moments; a short switch interval does so here
    # (the emulator serves in this process's threads), so a race shows in every run, not one in ten.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    rules = client().get_paginator("describe_security_group_rules").paginate(
        Filters=[{"Name": "group-id", "Values": groups}]).build_full_result()["SecurityGroupRules"]
    ingress = [rule for rule in rules if not rule["IsEgress"]]
    assert len(groups) == 96 and len(ingress) == 96  # each rule written exactly once
