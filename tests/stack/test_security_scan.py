"""Security scans of the generated stack, against the checked-in configs.

- checkov on the synthesized JSON (``--framework terraform_json``) and on three ``terraform show
  -json`` plans made against the moto emulator: a fresh deploy's, one of the session's shared
  deployment (``deployed_stack``) after its apply, where
  every value is known (the container definition, rendered policies, security-group egress),
  and a fresh deploy's with TLS and a private DNS name on (``certificate_arn``,
  ``private_dns_name``); 0 failed checks with ``.checkov.yaml``, whose every skip has a reason and
  is still needed, and the HTTPS checks it skips for the default HTTP mode pass in TLS mode.
- parliament on every rendered ``data.aws_iam_policy_document`` statement: no findings with
  ``.parliament.yaml``, whose every ignore has a reason and still matches a finding.
- What the hardening added, at the JSON level (one behaviour each).

The deployment turns the optional BYOC trust role on, so that the scans see it too.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import STACK_NAME
from stacks.inputs import validate
from tfrun import terraform

REPO = Path(__file__).resolve().parents[2]
CHECKOV_CONFIG = REPO / ".checkov.yaml"
PARLIAMENT_CONFIG = REPO / ".parliament.yaml"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"
#: As the shared deployment's byoc.toml sets them (tests/conftest.py).
TRUST_VARS = ["-var", "pinecone_aws_account_id=111122223333", "-var", "pinecone_external_id=byoc-scan-external-id"]
#: The TLS option (a plan needs no real certificate) and a private DNS name.
TLS_VARS = ["-var", "certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/0b7d3c2e-scan",
            "-var", "private_dns_name=api.internal.byoc-scan"]
#: Skipped for the default plain-HTTP mode only: TLS mode must pass them.
HTTPS_CHECKS = {"CKV_AWS_2", "CKV_AWS_103", "CKV2_AWS_20"}
#: Offline and quiet: no Prisma Cloud mapping download, no PyPI version check.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
#: The documents the stack renders; the lint must have seen at least these.
#: (ecs_exec renders with ecs_exec off too: only the role policy attaching it is counted.)
POLICY_DOCUMENTS = {"ecs_exec", "ecs_tasks_trust", "flow_logs_trust", "flow_logs_write", "key_policy",
                    "pinecone_trust", "secret_policy_locked", "secret_policy_open", "secret_read_policy"}


# --------------------------------------------------------------------------- checkov

@dataclass
class CheckovReport:
    passed: set[tuple[str, str]]   # (check id, resource)
    failed: set[tuple[str, str]]
    parsing_errors: list[str]

    def ids(self, which: str) -> set[str]:
        return {check for check, _resource in getattr(self, which)}


@functools.lru_cache(maxsize=None)
def _checkov(target: tuple[str, ...], framework: str, cwd: Path, config: bool) -> CheckovReport:
    return _run_checkov(list(target), framework, cwd, config=config)


def checkov(target: list[str], framework: str, cwd: Path, *, config: bool = True) -> CheckovReport:
    """checkov's report on ``target``, run once per (target, framework, config) and shared: a
    scan takes seconds of CPU, and several tests judge the same one."""
    return _checkov(tuple(target), framework, cwd, config)


def _run_checkov(target: list[str], framework: str, cwd: Path, *, config: bool = True) -> CheckovReport:
    """Run checkov (JSON output) with or without the checked-in config; cwd keeps it from
    picking up a .checkov.yaml by itself."""
    binary = shutil.which("checkov", path=str(Path(sys.executable).parent)) or shutil.which("checkov")
    if binary is None:
        pytest.fail("checkov is not installed: pip install -e '.[test]'")
    settings = ["--config-file", str(CHECKOV_CONFIG)] if config else ["--skip-download"]
    proc = subprocess.run([binary, *settings, *target, "--framework", framework, "--output", "json"],
                          cwd=cwd, env={**os.environ, **CHECKOV_ENV}, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]  # a list when it reports per file
    assert reports and all(isinstance(r, dict) and "results" in r for r in reports), \
        f"checkov scanned nothing: {proc.stdout[:500]}"
    results = {key: [c for r in reports for c in r["results"].get(key, [])]
               for key in ("passed_checks", "failed_checks", "parsing_errors")}

    def pairs(key: str) -> set[tuple[str, str]]:
        return {(c["check_id"], c["resource"]) for c in results.get(key, [])}

    return CheckovReport(pairs("passed_checks"), pairs("failed_checks"), results.get("parsing_errors", []))


def declared_skips() -> dict[str, str]:
    """check id -> the reason written on its line of .checkov.yaml."""
    reasons = {}
    for line in CHECKOV_CONFIG.read_text().splitlines():
        match = re.fullmatch(r"\s*-\s*(CKV2?_[A-Z0-9_]+)\s*(?:#\s*(.*))?", line)
        if match:
            reasons[match.group(1)] = (match.group(2) or "").strip()
    return reasons


@pytest.fixture(scope="module")
def json_scan_dir(synthesized_project, tmp_path_factory) -> Path:
    """The session's cdk.tf.json without ``terraform.required_version``, which checkov cannot
    parse (bridgecrewio/checkov#7454: the whole file becomes one parsing error, 0 checks run)."""
    original = json.loads((synthesized_project / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_text())
    scanned = json.loads(json.dumps(original))
    assert scanned["terraform"].pop("required_version")
    assert {k: v for k, v in original.items() if k != "terraform"} == {k: v for k, v in scanned.items() if k != "terraform"}
    folder = tmp_path_factory.mktemp("checkov-json")
    (folder / "cdk.tf.json").write_text(json.dumps(scanned, indent=2))
    return folder


@dataclass
class ScannedDeployment:
    folder: Path
    create_plan: Path   # `terraform show -json` of the first plan (nothing exists yet)
    again_plan: Path    # ... of a plan after apply: every value known
    tls_plan: Path      # ... of a first plan with TLS_VARS (HTTPS on 443, port 80 redirecting)
    state: dict         # `terraform show -json` of the state


@pytest.fixture(scope="module")
def scanned_deployment(project_copy_module, deployed_stack, terraform_rc, tmp_path_factory) -> ScannedDeployment:
    """First plans of a fresh copy (defaults + trust role, and with TLS), and a plan of the
    session's shared deployment (the same inputs, applied) against its moto server."""
    fresh = project_copy_module / "cdktf.out" / "stacks" / STACK_NAME
    deployed = deployed_stack.project / "cdktf.out" / "stacks" / STACK_NAME
    env = {**deployed_stack.env, "TF_CLI_CONFIG_FILE": str(terraform_rc)}
    folder = tmp_path_factory.mktemp("scans")
    variables = ["-var", f"container_image={IMAGE}", *TRUST_VARS]

    def tf(stack_dir: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        return terraform(stack_dir, env, *args, ok=ok).stdout

    tf(fresh, "init", "-input=false", "-no-color")
    tf(fresh, "plan", "-input=false", "-no-color", "-out=create.tfplan", *variables)
    (folder / "create.json").write_text(tf(fresh, "show", "-json", "create.tfplan"))
    tf(fresh, "plan", "-input=false", "-no-color", "-out=tls.tfplan", *variables, *TLS_VARS)
    (folder / "tls.json").write_text(tf(fresh, "show", "-json", "tls.tfplan"))
    # Nothing may drift after apply (the emulator fills the gaps new resources expose).
    plan = folder / "again.tfplan"
    tf(deployed, "plan", "-input=false", "-no-color", "-lock=false", "-detailed-exitcode", f"-out={plan}",
       f"-var-file={deployed_stack.project / '.byoc' / 'inputs.tfvars.json'}")
    (folder / "again.json").write_text(tf(deployed, "show", "-json", str(plan)))
    return ScannedDeployment(folder, folder / "create.json", folder / "again.json", folder / "tls.json",
                             json.loads(tf(deployed, "show", "-json")))


def test_checkov_json_scan_parses_the_stack_and_fails_no_check(json_scan_dir):
    report = checkov(["-d", str(json_scan_dir)], "terraform_json", json_scan_dir)
    assert report.parsing_errors == []
    assert report.failed == set(), sorted(report.failed)
    assert len(report.passed) >= 150
    # The load balancer was parsed and judged (graph checks). Its resource checks (headers,
    # deletion protection, ...) answer UNKNOWN here, as load_balancer_type is a variable: the plan
    # scans, where variables are values, judge them.
    assert ("CKV2_AWS_28", "aws_lb.main") in report.passed


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_checkov_plan_scan_of_a_fresh_deploy_fails_no_check(scanned_deployment):
    report = checkov(["-f", str(scanned_deployment.create_plan)], "terraform_plan", scanned_deployment.folder)
    assert report.failed == set(), sorted(report.failed)
    assert len(report.passed) >= 100
    # Variables are values here: deletion protection is really on by default, and the ALB (the
    # default type) drops invalid header fields.
    assert {("CKV_AWS_150", "aws_lb.main"), ("CKV_AWS_131", "aws_lb.main")} <= report.passed


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_checkov_plan_scan_after_apply_sees_the_container_and_egress_and_fails_no_check(scanned_deployment):
    report = checkov(["-f", str(scanned_deployment.again_plan)], "terraform_plan", scanned_deployment.folder)
    assert report.failed == set(), sorted(report.failed)
    # What the JSON scan cannot see: the container definition (read-only root, not privileged)
    # and the security-group egress rules.
    assert {("CKV_AWS_336", "aws_ecs_task_definition.app"), ("CKV_AWS_334", "aws_ecs_task_definition.app"),
            ("CKV_AWS_382", "aws_vpc_security_group_egress_rule.service_https_out")} <= report.passed


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_checkov_plan_scan_with_tls_passes_the_https_checks_and_fails_no_other(scanned_deployment):
    # Without the config: the HTTPS checks it skips (for the default mode) must run and pass here.
    report = checkov(["-f", str(scanned_deployment.tls_plan)], "terraform_plan", scanned_deployment.folder,
                     config=False)
    assert HTTPS_CHECKS <= report.ids("passed"), sorted(HTTPS_CHECKS - report.ids("passed"))
    assert report.ids("failed") & HTTPS_CHECKS == set(), sorted(report.failed)
    assert report.ids("failed") <= set(declared_skips()) - HTTPS_CHECKS, sorted(report.failed)
    # The listeners it judged are the TLS mode's: HTTPS on 443 and the redirect on 80.
    assert {("CKV_AWS_2", "aws_lb_listener.https[0]"), ("CKV_AWS_2", "aws_lb_listener.http[0]"),
            ("CKV_AWS_103", "aws_lb_listener.https[0]")} <= report.passed
    # The private zone is in this plan, and declared skips cover whatever it fails.
    assert any(resource.startswith("aws_route53_zone.private") for _c, resource in report.passed)


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_checkov_skips_have_reasons_and_are_exactly_what_the_scans_need(json_scan_dir, scanned_deployment):
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    # No other way to silence a check: no soft-fail, no check allowlist, no skipped paths.
    assert set(config) == {"skip-download", "skip-check"}, set(config)
    reasons = declared_skips()
    assert sorted(reasons) == sorted(config["skip-check"]), "one skip per line, each with its reason"
    for check, reason in reasons.items():
        assert len(reason) >= 30, f"{check} has no reason on its line in .checkov.yaml"
    unskipped = [
        checkov(["-d", str(json_scan_dir)], "terraform_json", json_scan_dir, config=False),
        # The two HTTP-mode plans in one run (checkov's start-up is most of a scan's cost).
        checkov(["-f", str(scanned_deployment.create_plan), "-f", str(scanned_deployment.again_plan)],
                "terraform_plan", scanned_deployment.folder, config=False),
        checkov(["-f", str(scanned_deployment.tls_plan)], "terraform_plan", scanned_deployment.folder, config=False),
    ]
    failing = set().union(*(report.ids("failed") for report in unskipped))
    assert failing - set(reasons) == set(), "failing checks that are not declared"
    assert set(reasons) - failing == set(), "declared skips that no scan needs any more: remove them"


# --------------------------------------------------------------------------- parliament

def rendered_statements(state: dict) -> dict[str, str]:
    """``<document>.<Sid or index>.json`` -> that statement alone as a policy, for every
    data.aws_iam_policy_document in the state (one file per statement, so that an ignore in
    .parliament.yaml can name exactly one statement)."""
    out = {}
    for resource in state["values"]["root_module"]["resources"]:
        if resource["mode"] != "data" or resource["type"] != "aws_iam_policy_document":
            continue
        document = json.loads(resource["values"]["json"])
        for i, statement in enumerate(document["Statement"]):
            name = f"{resource['name']}.{statement.get('Sid', i)}.json"
            assert name not in out, name
            out[name] = json.dumps({"Version": document["Version"], "Statement": [statement]}, indent=2)
    return out


def parliament_ignores() -> dict[str, list[dict]]:
    """issue -> its ignore_locations in .parliament.yaml (parliament's own config format)."""
    return {issue: settings["ignore_locations"] for issue, settings in
            yaml.safe_load(PARLIAMENT_CONFIG.read_text()).items()}


def is_ignored(finding: Any, locations: list[dict]) -> bool:
    """parliament's documented ignore_locations semantics: some entry whose every key matches
    the finding's location (regex fullmatch, case-insensitive; a list means any of them).
    Applied here because parliament 1.6.4's own matcher ignores nothing: its make_list() returns
    [] for the plain strings a YAML config holds."""
    def matches(location: dict) -> bool:
        return all(any(re.fullmatch(str(pattern).lower(), str(finding.location.get(key, "")).lower())
                       for pattern in (patterns if isinstance(patterns, list) else [patterns]))
                   for key, patterns in location.items())
    return any(matches(location) for location in locations)


@pytest.fixture(scope="module")
def parliament_findings(scanned_deployment) -> list[Any]:
    """Every finding on the rendered statements, community auditors on, every severity."""
    import parliament

    # The community auditors' findings need their settings, as `--include-community-auditors` loads them.
    parliament.override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    statements = rendered_statements(scanned_deployment.state)
    assert POLICY_DOCUMENTS <= {name.split(".")[0] for name in statements}
    found = []
    for name, text in statements.items():
        policy = parliament.analyze_policy_string(text, f"rendered/{name}", include_community_auditors=True)
        found += [parliament.enhance_finding(f) for f in policy.findings]
    return found


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_parliament_finds_nothing_in_the_rendered_policies(parliament_findings):
    ignores = parliament_ignores()
    kept = [f for f in parliament_findings if not is_ignored(f, ignores.get(f.issue, []))]
    assert [(f.issue, f.location.get("filepath"), f.detail) for f in kept] == []


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_parliament_ignores_have_reasons_and_each_still_matches_a_finding(parliament_findings):
    # (issue, filepath pattern) -> the comment lines right above that entry
    reasons: dict[tuple[str, str], str] = {}
    issue, comment = "", []
    for line in PARLIAMENT_CONFIG.read_text().splitlines():
        if re.fullmatch(r"[A-Z_]+:", line):
            issue = line[:-1]
        elif line.strip().startswith("#"):
            comment.append(line.strip("# "))
            continue
        elif match := re.fullmatch(r"\s*- filepath: '(.*)'", line):
            reasons[issue, match.group(1)] = " ".join(comment)
        comment = []
    for issue, settings in yaml.safe_load(PARLIAMENT_CONFIG.read_text()).items():
        assert set(settings) == {"ignore_locations"}, f"{issue}: only ignores are configured here"
        for location in settings["ignore_locations"]:
            assert set(location) == {"filepath"}, f"{issue}: ignore one statement by file, not more: {location}"
            assert len(reasons.get((issue, location["filepath"]), "")) >= 30, f"{issue} {location}: no reason above it"
            matched = [f for f in parliament_findings if f.issue == issue and is_ignored(f, [location])]
            assert matched, f"{issue} {location} ignores nothing any more: remove it"


# --------------------------------------------------------------------------- what the hardening added

def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def document(doc: dict, expression: str) -> dict:
    name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)(?:\[0\])?\.json\}", expression).group(1)
    return doc["data"]["aws_iam_policy_document"][name]


def test_log_groups_are_encrypted_with_the_cmk_once_its_policy_allows_it(stack_json):
    groups = resources(stack_json, "aws_cloudwatch_log_group")
    assert {g["name"] for g in groups.values()} == {"/ecs/${var.app_name}", "/vpc/${var.app_name}/flow-logs",
                                                    "/ecs/${var.app_name}/exec"}
    for group in groups.values():
        assert group["kms_key_id"] == "${aws_kms_key.secrets.arn}"
        assert group["depends_on"] == ["aws_kms_key_policy.secrets_policy"]  # else CreateLogGroup fails


def test_key_policy_lets_cloudwatch_logs_use_the_key_for_this_stacks_log_groups_only(stack_json):
    statements = document(stack_json, resources(stack_json, "aws_kms_key_policy")["secrets_policy"]["policy"])["statement"]
    (logs,) = [s for s in statements if s["principals"][0]["identifiers"] == ["logs.${var.aws_region}.amazonaws.com"]]
    assert logs["principals"][0]["type"] == "Service"
    (condition,) = logs["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert [v.rsplit(":log-group:", 1)[1] for v in condition["values"]] == ["/ecs/${var.app_name}",
                                                                          "/vpc/${var.app_name}/flow-logs",
                                                                          "/ecs/${var.app_name}/exec"]
    assert all(s["resources"] == ["${aws_kms_key.secrets.arn}"] for s in statements)  # never "*"


def test_vpc_flow_logs_capture_all_traffic_when_on_with_a_role_only_flow_logs_can_assume(stack_json):
    assert stack_json["variable"]["vpc_flow_logs"]["default"] is True
    (flow_log,) = resources(stack_json, "aws_flow_log").values()
    assert flow_log["count"] == "${var.vpc_flow_logs ? 1 : 0}"
    assert (flow_log["vpc_id"], flow_log["traffic_type"]) == ('${var.existing_vpc_id == "" ? aws_vpc.main[0].id : data.aws_vpc.existing[0].id}', "ALL")
    assert flow_log["log_destination"] == "${aws_cloudwatch_log_group.flow_logs[0].arn}"
    (trust,) = document(stack_json, resources(stack_json, "aws_iam_role")["flow_logs"]["assume_role_policy"])["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["vpc-flow-logs.amazonaws.com"]}]
    assert {c["variable"] for c in trust["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}
    write = document(stack_json, resources(stack_json, "aws_iam_role_policy")["flow_logs_write_policy"]["policy"])
    (streams,) = [s for s in write["statement"] if "logs:PutLogEvents" in s["actions"]]
    assert all(r.startswith("${aws_cloudwatch_log_group.flow_logs[0].arn}") for r in streams["resources"])


def test_alb_deletion_protection_is_a_variable_that_defaults_on(stack_json):
    assert resources(stack_json, "aws_lb")["main"]["enable_deletion_protection"] == "${var.alb_deletion_protection}"
    assert stack_json["variable"]["alb_deletion_protection"]["default"] is True


def test_alb_access_logs_are_on_only_when_a_bucket_is_named(stack_json):
    logs = resources(stack_json, "aws_lb")["main"]["access_logs"]
    assert logs["bucket"] == "${var.alb_access_logs_bucket}"
    assert logs["enabled"] == "${(length(var.alb_access_logs_bucket) >= 1)}"
    assert stack_json["variable"]["alb_access_logs_bucket"]["default"] == ""


def test_container_root_filesystem_is_read_only_with_a_writable_tmp(stack_json):
    (task,) = resources(stack_json, "aws_ecs_task_definition").values()
    assert '"readonlyRootFilesystem" = var.container_read_only_root_filesystem' in task["container_definitions"]
    assert '"mountPoints" = [{"sourceVolume" = "tmp", "containerPath" = "/tmp", "readOnly" = false}]' in task[
        "container_definitions"]
    assert task["volume"] == [{"name": "tmp"}]
    assert stack_json["variable"]["container_read_only_root_filesystem"]["default"] is True


@pytest.mark.parametrize("overrides, field", [
    ({"alb_deletion_protection": "false"}, "alb_deletion_protection"),
    ({"vpc_flow_logs": 1}, "vpc_flow_logs"),
    ({"container_read_only_root_filesystem": "yes"}, "container_read_only_root_filesystem"),
])
def test_switches_refuse_a_string_or_number_for_true_or_false_by_name(overrides, field):
    # A config file's "false" or 1 is not a boolean (terraform itself would convert them, so these
    # are not in tests/stack/test_input_parity.py; the bucket's bad names are).
    errors = validate({"container_image": IMAGE, **overrides})
    assert [e.field for e in errors] == [field]


def test_security_switches_turned_off_and_a_logs_bucket_are_valid():
    assert validate({"container_image": IMAGE, "alb_deletion_protection": False, "vpc_flow_logs": False,
                     "container_read_only_root_filesystem": False, "alb_access_logs_bucket": "my-alb-logs.example"}) == []
