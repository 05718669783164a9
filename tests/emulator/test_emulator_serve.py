"""``cli.emulator.serve``: the emulator in the foreground, as ``byoc emulator`` runs it — the same
two lines, then "Emulator stopped." on Ctrl-C, and the KeyboardInterrupt left to the caller."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
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


def _ec2_request(port: int, params: str, invocation: str, attempt: int) -> bytes:
    """One EC2 query request as the AWS SDKs send it: the invocation id is the same on every
    attempt of one call, ``amz-sdk-request`` counts the attempts."""
    body = f"{params}&Version=2016-11-15".encode()
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0\r\n"
            f"amz-sdk-invocation-id: {invocation}\r\namz-sdk-request: attempt={attempt}; max=25\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def _answer(port: int, request: bytes) -> tuple[int, str]:
    import http.client

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read().decode()


def test_a_write_whose_answer_was_lost_is_answered_again_on_the_sdks_retry_not_done_twice(emulator):
    """The failure `byoc demo` showed: a CreateSecurityGroup reached the server and was acted on,
    its connection was reset before the answer was read, and the SDK's retry (same invocation id)
    was refused as InvalidGroup.Duplicate. The retry now gets the first answer; a new call with the
    same parameters is still refused as AWS refuses it; an answer that was an error is not kept."""
    import re
    import struct

    import boto3

    port = int(emulator.endpoint_url.rsplit(":", 1)[1])
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    create = f"Action=CreateSecurityGroup&GroupName=web&GroupDescription=web&VpcId={vpc}"

    def groups(name: str) -> list[str]:
        found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
        return [group["GroupId"] for group in found["SecurityGroups"]]

    # Attempt 1 arrives whole and is acted on; the client's connection is reset before it reads.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_ec2_request(port, create, "inv-1", 1))
        for _ in range(300):
            if groups("web"):
                break
            time.sleep(0.01)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close → RST
    created = groups("web")
    assert len(created) == 1

    status, text = _answer(port, _ec2_request(port, create, "inv-1", 2))
    assert status == 200 and re.search(r"<groupId>(sg-[0-9a-f]+)</groupId>", text).group(1) == created[0]
    assert groups("web") == created  # acted on once

    status, text = _answer(port, _ec2_request(port, create, "inv-2", 1))  # a second call, not a retry
    assert status == 400 and "InvalidGroup.Duplicate" in text

    ec2.delete_security_group(GroupId=created[0])
    status, text = _answer(port, _ec2_request(port, create, "inv-2", 2))  # its retry: acted on again
    assert status == 200 and groups("web") != created and len(groups("web")) == 1
