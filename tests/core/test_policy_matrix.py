"""byoc's reader (``cli/core/policy.py: reader_verdict``) against the independent evaluator
(``cli/core/evaluator``: @cloud-copilot/iam-simulate), cell by cell, on the deployed stack's real
documents: zero disagreements.

The documents come from the shared deployment (``deployed_stack``: deploy, secret put, lockdown
against the emulator), read only from the Terraform state it left after each step: the rendered
``data.aws_iam_policy_document`` JSON of the secret policy (open after deploy, locked after
lockdown) and of the key policy, checked equal to what was applied (``aws_secretsmanager_secret_policy``,
``aws_kms_key_policy``); the roles' policies by their attachments (``aws_iam_policy`` documents; AWS's
managed ``AmazonECSTaskExecutionRolePolicy`` read from the emulator's IAM, where AWS keeps it); the
Secrets Manager endpoint's policy (AWS's default: full access). Nothing in the deployment changes.

The matrix, generated:

- principals: the execution role, the task role (their real policies); a role of the account with
  AWS's AdministratorAccess (``Allow * on *``); a role of another account with the same; a role of
  the account with no policy at all.
- paths: through the stack's Secrets Manager endpoint (``aws:SourceVpce``, ``aws:SourceVpc``, the
  endpoint's policy), through another endpoint (of another VPC; default endpoint policy), not
  through an endpoint.
- actions: ``secretsmanager:GetSecretValue`` on the secret (resource policy: the secret policy);
  ``kms:Decrypt`` on the key as Secrets Manager asks for it when it reads the secret for the
  caller (resource policy: the key policy; ``kms:ViaService`` = Secrets Manager, ``kms:CallerAccount``,
  ``aws:ViaAWSService``). That call is Secrets Manager's own (a forward access session, IAM User
  Guide "Forward access sessions"), not the caller's through its endpoint, so it carries no
  endpoint keys and no endpoint policy applies: the path leaves its cells alike, by design.
- policies: phase one (open), locked (task + execution role), the seed's step-5 list (task role
  only: the execution role missing), and hand edits — an Allow for another account in the secret
  policy, a Deny on another condition (``aws:SourceVpc``) in it, a key policy without the root
  delegation, an Allow for another account in the key policy.

Every cell: the evaluator's Decision and byoc's verdict (True/False, or None: "unknown", allowed
only where the deciding document holds a statement byoc does not write). A failure prints the
whole matrix and every wrong cell with the statements that decided it (``Decision.decided_by``).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.core import evaluator as ev
from cli.core.evaluator import Decision, Evaluator, EvaluatorUnavailable, PolicyRequest
from cli.core.policy import DECRYPT_ACTION, READ_ACTION, account_of, reader_verdict, statements
from constructs_lib.catalog import secretsmanager_via

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]

OTHER_ACCOUNT = "210987654321"
OTHER_VPCE, OTHER_VPC = "vpce-0a0a0a0a0a0a0a0a0", "vpc-0a0a0a0a0a0a0a0a0"
#: AWS's AdministratorAccess managed policy, as AWS publishes it.
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
#: The policy AWS gives an interface endpoint created without one ("full access").
DEFAULT_ENDPOINT_POLICY = {"Version": "2008-10-17",
                           "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}


# --- the evaluator: installed once per session, one process for the module ------------------------------

@pytest.fixture(scope="session")
def matrix_evaluator_folder(tmp_path_factory) -> Path:
    """As in tests/test_iam_evaluator.py: byoc's lockfile installed into a cache under pytest's tmp
    dir (or $BYOC_EVALUATOR_DIR). A missing evaluator fails the test, never skips it."""
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get(ev.ENV_DIR):
            mp.setenv("BYOC_CACHE_DIR", str(tmp_path_factory.mktemp("byoc-cache")))
        try:
            yield ev.ensure(say=lambda line: print(line, file=sys.stderr))
        except EvaluatorUnavailable as exc:
            pytest.fail(f"the policy evaluator could not be installed: {exc}")


@pytest.fixture(scope="module")
def evaluator(matrix_evaluator_folder):
    with Evaluator(matrix_evaluator_folder) as e:
        yield e


# --- the deployment's documents ---------------------------------------------------------------------------

def _instances(state: dict, type_: str, name: str | None = None, mode: str = "managed") -> list[dict]:
    return [i["attributes"] for r in state["resources"] if r["type"] == type_ and r.get("mode", "managed") == mode
            and (name is None or r["name"] == name) for i in r["instances"]]


def _one(state: dict, type_: str, name: str, mode: str = "managed") -> dict:
    found = _instances(state, type_, name, mode)
    assert len(found) == 1, f"{mode} {type_}.{name}: {len(found)} instances in the state"
    return found[0]


def _document(state: dict, name: str) -> dict:
    """The JSON Terraform rendered for ``data.aws_iam_policy_document.<name>`` (real ARNs)."""
    return json.loads(_one(state, "aws_iam_policy_document", name, mode="data")["json"])


@dataclass(frozen=True)
class Stack:
    account: str
    region: str
    secret: str
    key: str
    execution_role: str
    task_role: str
    vpce: str
    vpc: str
    open_policy: dict
    locked_policy: dict
    key_policy: dict
    endpoint_policy: dict
    #: role ARN -> [(policy name, document)], every policy attached to or inline in it
    role_policies: dict[str, list[tuple[str, dict]]]


def _role_policies(state: dict, role_arn: str, iam) -> list[tuple[str, dict]]:
    """The role's policies as the state records them: managed ones by attachment (the stack's own
    from ``aws_iam_policy``, AWS's from IAM: its document is AWS's, not in the state), inline ones."""
    name = role_arn.rsplit("/", 1)[-1]
    customer = {p["arn"]: (p["name"], json.loads(p["policy"])) for p in _instances(state, "aws_iam_policy")}
    found = []
    arns = sorted({a["policy_arn"] for a in _instances(state, "aws_iam_role_policy_attachment") if a["role"] == name})
    for arn in arns:
        if arn in customer:
            found.append(customer[arn])
        else:
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            found.append((arn.rsplit("/", 1)[-1], json.loads(document) if isinstance(document, str) else document))
    found += [(p["name"], json.loads(p["policy"])) for p in _instances(state, "aws_iam_role_policy") if p["role"] == name]
    return found


@pytest.fixture(scope="module")
def stack(deployed_stack) -> Stack:
    steps = deployed_stack.steps
    assert steps["deploy"].exit_code == 0, steps["deploy"].output
    assert steps["lockdown"].exit_code == 0, steps["lockdown"].output
    deployed, locked = json.loads(steps["state_after_deploy"]), steps["state_after_lockdown"]
    out = {k: v["value"] for k, v in locked["outputs"].items()}

    open_policy, locked_policy = _document(deployed, "secret_policy_open"), _document(locked, "secret_policy_locked")
    key_policy = _document(locked, "key_policy")
    # What the data sources rendered is what was applied, in each phase.
    assert json.loads(_one(deployed, "aws_secretsmanager_secret_policy", "pinecone_policy")["policy"]) == open_policy
    assert json.loads(_one(locked, "aws_secretsmanager_secret_policy", "pinecone_policy")["policy"]) == locked_policy
    assert json.loads(_one(locked, "aws_kms_key_policy", "secrets_policy")["policy"]) == key_policy
    assert [s["Sid"] for s in open_policy["Statement"]] == ["DenyReadOutsideVpcEndpoint"]
    assert [s["Sid"] for s in locked_policy["Statement"]] == ["DenyReadOutsideVpcEndpoint", "DenyReadToUnlistedPrincipals"]
    endpoint = [e for e in _instances(locked, "aws_vpc_endpoint", "secretsmanager") if e["id"] == out["secretsmanager_vpce_id"]]
    assert len(endpoint) == 1, "the state has no aws_vpc_endpoint.secretsmanager with the output's id"

    iam = deployed_stack.client("iam")
    roles = {arn: _role_policies(locked, arn, iam) for arn in (out["ecs_execution_role_arn"], out["ecs_task_role_arn"])}
    return Stack(account=account_of(out["byoc_secret_arn"]), region=out["byoc_secret_arn"].split(":")[3],
                 secret=out["byoc_secret_arn"], key=out["kms_key_arn"], execution_role=out["ecs_execution_role_arn"],
                 task_role=out["ecs_task_role_arn"], vpce=out["secretsmanager_vpce_id"], vpc=out["vpc_id"],
                 open_policy=open_policy, locked_policy=locked_policy, key_policy=key_policy,
                 endpoint_policy=json.loads(endpoint[0]["policy"]), role_policies=roles)


# --- the matrix ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    label: str
    arn: str
    policies: list[tuple[str, dict]]


@dataclass(frozen=True)
class Route:
    label: str
    context: dict[str, str]
    endpoint_policies: list[tuple[str, dict]]

    @property
    def vpce(self) -> str | None:
        return self.context.get("aws:SourceVpce")


@dataclass(frozen=True)
class Variant:
    label: str
    secret_policy: dict
    key_policy: dict
    #: whether each document holds only statements byoc writes (then byoc must give a verdict)
    secret_is_byocs: bool = True
    key_is_byocs: bool = True


def principals(s: Stack) -> list[Principal]:
    return [Principal("execution role", s.execution_role, s.role_policies[s.execution_role]),
            Principal("task role", s.task_role, s.role_policies[s.task_role]),
            Principal("admin, same account", f"arn:aws:iam::{s.account}:role/byoc-matrix-admin",
                      [("AdministratorAccess", ADMINISTRATOR_ACCESS)]),
            Principal("admin, other account", f"arn:aws:iam::{OTHER_ACCOUNT}:role/byoc-matrix-admin",
                      [("AdministratorAccess", ADMINISTRATOR_ACCESS)]),
            Principal("no policy, same account", f"arn:aws:iam::{s.account}:role/byoc-matrix-bare", [])]


def paths(s: Stack) -> list[Route]:
    return [Route("stack endpoint", {"aws:SourceVpce": s.vpce, "aws:SourceVpc": s.vpc},
                  [("secretsmanager endpoint", s.endpoint_policy)]),
            Route("other endpoint", {"aws:SourceVpce": OTHER_VPCE, "aws:SourceVpc": OTHER_VPC},
                  [("other endpoint", DEFAULT_ENDPOINT_POLICY)]),
            Route("no endpoint", {}, [])]


def variants(s: Stack) -> list[Variant]:
    seed = copy.deepcopy(s.locked_policy)
    seed["Statement"][1]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = [s.task_role]
    foreign_read = copy.deepcopy(s.open_policy)
    foreign_read["Statement"].append({"Sid": "AllowPartnerAccountRead", "Effect": "Allow",
                                      "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                                      "Action": READ_ACTION, "Resource": s.secret})
    vpc_deny = copy.deepcopy(s.locked_policy)
    vpc_deny["Statement"].append({"Sid": "DenyReadOutsideVpc", "Effect": "Deny", "Principal": "*",
                                  "Action": READ_ACTION, "Resource": s.secret,
                                  "Condition": {"StringNotEquals": {"aws:SourceVpc": s.vpc}}})
    no_root = copy.deepcopy(s.key_policy)
    no_root["Statement"] = [st for st in no_root["Statement"] if st["Sid"] != "AccountAdministersKeyThroughIam"]
    assert len(no_root["Statement"]) == len(s.key_policy["Statement"]) - 1
    foreign_key = copy.deepcopy(s.key_policy)
    foreign_key["Statement"].append({"Sid": "PartnerAccountUsesKey", "Effect": "Allow",
                                     "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                                     "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": s.key})
    return [Variant("open (phase one)", s.open_policy, s.key_policy),
            Variant("locked (task + execution)", s.locked_policy, s.key_policy),
            Variant("seed step 5 (task only)", seed, s.key_policy),
            Variant("edit: Allow other account (secret)", foreign_read, s.key_policy, secret_is_byocs=False),
            Variant("edit: Deny aws:SourceVpc (secret)", vpc_deny, s.key_policy, secret_is_byocs=False),
            # Only statements byoc writes, one left out: byoc must still judge it.
            Variant("edit: key policy without root", s.locked_policy, no_root),
            Variant("edit: Allow other account (key)", s.locked_policy, foreign_key, key_is_byocs=False)]


@dataclass(frozen=True)
class Cell:
    variant: Variant
    principal: Principal
    path: Route
    action: str
    decision: Decision
    byoc: bool | None

    @property
    def byocs_document(self) -> bool:
        return self.variant.secret_is_byocs if self.action == READ_ACTION else self.variant.key_is_byocs

    @property
    def problem(self) -> str | None:
        if self.decision.result == "NotEvaluated":
            return "the evaluator did not evaluate it"
        if self.byoc is None:
            return "byoc gave no verdict on a document of its own statements" if self.byocs_document else None
        if self.byoc != self.decision.allowed:
            return "disagreement"
        return None

    @property
    def mark(self) -> str:
        """A: both allow; d: both deny; ?: byoc unknown (evaluator's a/d); X: wrong."""
        if self.problem:
            return "X"
        if self.byoc is None:
            return "?" + ("a" if self.decision.allowed else "d")
        return "A" if self.byoc else "d"

    def line(self) -> str:
        return (f"{self.variant.label} | {self.principal.label} | {self.path.label} | {self.action}: byoc {self.byoc}, "
                f"evaluator {self.decision.result} by {'; '.join(self.decision.decided_by) or '-'}"
                + (f" — {self.problem}" if self.problem else ""))


def evaluate(s: Stack, evaluator: Evaluator, variant: Variant, principal: Principal, path: Route, action: str) -> Cell:
    if action == READ_ACTION:
        request = PolicyRequest(principal.arn, action, s.secret, s.account, context=path.context,
                                identity_policies=principal.policies, resource_policy=variant.secret_policy,
                                vpc_endpoint_policies=path.endpoint_policies)
    else:
        # Secrets Manager's own call to KMS for the caller: kms:ViaService names it (KMS Developer
        # Guide, "kms:ViaService"); no endpoint of the caller's is on that call.
        context = {"kms:ViaService": secretsmanager_via(s.region), "kms:CallerAccount": account_of(principal.arn),
                   "aws:ViaAWSService": "true"}
        request = PolicyRequest(principal.arn, action, s.key, s.account, context=context,
                                identity_policies=principal.policies, resource_policy=variant.key_policy)
    decision = evaluator.evaluate(request)
    byoc = reader_verdict(principal.arn, action, request.resource,
                          identity_statements=[st for _, d in principal.policies for st in statements(d)],
                          secret_policy=variant.secret_policy, key_policy=variant.key_policy, source_vpce=path.vpce)
    return Cell(variant, principal, path, action, decision, byoc)


def table(cells: list[Cell], s: Stack) -> str:
    """Rows: policies x principal; columns: action x path."""
    columns = [(a, p.label) for a in (READ_ACTION, DECRYPT_ACTION) for p in paths(s)]
    short = {READ_ACTION: "Get", DECRYPT_ACTION: "Decrypt", "stack endpoint": "vpce", "other endpoint": "other",
             "no endpoint": "none"}
    by = {(c.variant.label, c.principal.label, c.action, c.path.label): c.mark for c in cells}
    rows = list(dict.fromkeys((c.variant.label, c.principal.label) for c in cells))
    width = max(len(f"{v} / {p}") for v, p in rows)
    names = [f"{short[a]}/{short[p]}" for a, p in columns]
    cell = max(map(len, names))
    head = " " * width + " | " + " ".join(n.ljust(cell) for n in names)
    lines = [head, "-" * len(head)]
    for v, p in rows:
        lines.append(f"{v} / {p}".ljust(width) + " | " + " ".join(by[(v, p, a, q)].ljust(cell) for a, q in columns))
    lines.append("A: both allow · d: both deny · ?a/?d: byoc unknown (evaluator allows/denies) · X: wrong")
    return "\n".join(lines)


def test_byoc_reader_agrees_with_the_independent_evaluator_on_every_cell(stack, evaluator):
    cells = [evaluate(stack, evaluator, v, pr, pa, a)
             for v in variants(stack) for pr in principals(stack) for a in (READ_ACTION, DECRYPT_ACTION)
             for pa in paths(stack)]
    wrong = [c for c in cells if c.problem]
    unknown = [c for c in cells if c.byoc is None and not c.problem]
    agree = [c for c in cells if c.byoc is not None and not c.problem]
    summary = (f"{len(cells)} cells: {len(agree)} agree, {len(unknown)} byoc-unknown (documents with statements byoc "
               f"does not write), {len(wrong)} wrong")
    print(f"\n{summary}\n{table(cells, stack)}")
    assert not wrong, f"{summary}\n{table(cells, stack)}\n\nwrong cells:\n" + "\n".join(c.line() for c in wrong)

    # Not a vacuous matrix: both verdicts occur, and the cells the finding of 2026-12-04 was about
    # (another account's admin) are all denied, by both.
    assert {c.decision.result for c in agree} >= {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}
    foreign = [c for c in cells if c.principal.label == "admin, other account" and c.byocs_document]
    assert foreign and all(c.byoc is False and not c.decision.allowed for c in foreign)
    # The seed's step-5 list denies the execution role through the endpoint, by the readers deny.
    seed = next(c for c in cells if c.variant.label.startswith("seed") and c.principal.label == "execution role"
                and c.action == READ_ACTION and c.path.label == "stack endpoint")
    assert seed.byoc is False and seed.decision.decided_by == ("resource policy: DenyReadToUnlistedPrincipals",)
    # Unknown exactly where the deciding document holds a statement byoc does not write.
    assert all((c.byoc is None) == (not c.byocs_document) for c in cells)
