"""``byoc lockdown``: phase two — only the task and execution roles (plus ``--principal``) may
read the secret, retried while IAM propagates, verified on the policy read back from AWS, and
proven by new tasks that start under it.

The proof matters because ECS reads the secret only when a task starts: without it, the first
task to meet a broken policy would be the autoscaler's next scale-out. When the new tasks cannot
fetch the secret, the previous reader list is put back and the service rolled again.

Whether the change was proven is recorded (``.byoc/lockdown-proof.json``): a proof that was
interrupted, timed out or skipped (``--no-verify-start``) is made by the next run, even when that
run changes nothing. An undo fails closed: it restores the reader list the secret policy had
before this command, as read from AWS — never a saved list AWS did not have (an earlier run
stopped before its apply), which could let more principals read than before.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from cli.actions.policy_check import plan_validated
from cli.actions.rollout import RollOptions, roll
from cli.core.aws import aws_error, aws_errors
from cli.core.aws_texts import denied_by_resource_policy, is_secret_fetch_denied
from cli.core.config import check
from cli.core.errors import ByocError, InputError, half_done
from cli.core.policy import LockdownReport, SecretPolicy
from cli.core.session import Session, say
from cli.observers.secret import describe_lockdown, lockdown_report, read_policy
from cli.observers.service import RolloutFailed
from cli.observers.stopped import explain_stopped
from constructs_lib.catalog import READERS_INPUT as READERS
from stacks.inputs import PRINCIPAL_ARN_RE
#: What AWS says while a just-created role is not yet visible to the service (IAM is
#: eventually consistent); worth a retry, unlike any other failure.
_PROPAGATION = re.compile(r"invalid principal|MalformedPolicyDocument.*principal|principal.*does not exist",
                          re.IGNORECASE)
RETRY_DELAYS = (5, 10, 20, 40)


def check_principals(principals: list[str], flag: str = "--principal") -> None:
    for arn in principals:
        if not re.fullmatch(PRINCIPAL_ARN_RE, arn):
            raise InputError(f"{flag}: {arn!r} is not an IAM principal ARN; give one such as "
                             "arn:aws:iam::123456789012:role/reader-role.")


def _account(arn: str) -> str:
    return arn.split(":")[4]


def reader_list(previous: list[str], roles: list[str], principals: list[str], remove: list[str],
                reset: bool) -> list[str]:
    """Who may read after this lockdown: the two roles (always), the earlier extra readers unless
    ``--reset`` or ``--remove-principal`` drops them, then this run's ``--principal``s.

    Refused (exit 2, before anything changes): removing one of the roles (the execution role
    injects the secret, the task role is the app), removing a principal that is not a reader,
    and a principal of another account: the KMS key policy trusts only this account (root), so
    such a principal could never decrypt the secret, whatever the secret policy says. byoc does
    not widen the key policy for it; give that account a role here to assume instead.
    """
    account = _account(roles[0])
    both = [arn for arn in principals if arn in remove]
    if both:
        raise InputError(f"--principal and --remove-principal both name {both[0]}: name it once (--principal to keep "
                         "it a reader, --remove-principal to drop it).")
    for arn in principals:
        if _account(arn) != account:
            raise InputError(f"--principal: {arn} is in account {_account(arn)}, but the secret's KMS key trusts only "
                             f"this account ({account}), so it could never decrypt the secret; create a role in "
                             f"{account} that it may assume, and pass that role.")
    extra = [] if reset else [p for p in previous if p not in roles]
    for arn in remove:
        if arn in roles:
            raise InputError(f"--remove-principal: {arn} is one of the stack's own roles, which always read "
                             "(ECS injects the secret with the execution role; the task role is the app).")
        if arn not in extra and arn not in principals and not reset:
            readers = ", ".join(extra) or "none besides the stack's roles"
            raise InputError(f"--remove-principal: {arn} is not a reader of the secret (extra readers: {readers}).")
    return list(dict.fromkeys([*roles, *(p for p in extra if p not in remove), *principals]))


PROOF_FILE = "lockdown-proof.json"


def _proof(s: Session) -> dict[str, Any]:
    """The record of the last change's proof: {"readers": [...], "proven": bool}, or {}."""
    try:
        record = json.loads((s.project.state_dir / PROOF_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _record(s: Session, readers: list[str], proven: bool) -> None:
    s.project.state_dir.mkdir(parents=True, exist_ok=True)
    (s.project.state_dir / PROOF_FILE).write_text(json.dumps({"readers": readers, "proven": proven}, indent=2) + "\n")


def lockdown(s: Session, principals: list[str], *, auto_approve: bool, verify_start: bool = True,
             options: RollOptions = RollOptions(), remove: list[str] = (), reset: bool = False) -> LockdownReport:
    check_principals(principals)
    check_principals(list(remove), "--remove-principal")
    values = dict(s.deployed_inputs())
    saved = list(values.get(READERS) or [])
    region = values["aws_region"]
    tf = s.prepare(region)
    outputs = s.outputs()
    task_role, execution_role = outputs["ecs_task_role_arn"], outputs["ecs_execution_role_arn"]
    readers = reader_list(saved, [task_role, execution_role], principals, list(remove), reset)
    values[READERS] = readers
    check(values)
    # What an undo restores: the policy as AWS holds it now, not the saved list (module docstring).
    try:
        before = read_policy(s.target(region), outputs["byoc_secret_arn"])
    except ByocError:
        before = None
    previous = _undo_target(before, saved)
    if previous and readers != previous:
        say("Readers before: " + ", ".join(previous))
        say("Readers after:  " + ", ".join(readers))
    else:
        say("Readers: " + ", ".join(readers))

    approved, changed = False, False

    def applying():
        return half_done("the new reader list was being applied (the secret policy is the old one or the new one)",
                         "`byoc lockdown` (it applies the saved list and proves it)")

    def attempt() -> None:
        nonlocal approved, changed
        # The secret policy this plan writes, validated by AWS before anything is applied.
        summary, plan_file = plan_validated(s, tf, values)
        if summary.empty:
            plan_file.unlink(missing_ok=True)
            s.project.save_inputs(values)
            say("No changes: the secret is already locked down to these readers.")
            return
        s.approve(summary, auto_approve or approved, "Lock the secret down to these readers?")
        approved = changed = True
        s.project.save_inputs(values)
        _record(s, readers, proven=False)
        with applying():
            s.apply(tf, plan_file, summary)

    record = _proof(s)
    retry_on_propagation(attempt, sleep=s.sleep)
    earlier_unproven = record.get("proven") is False and sorted(record.get("readers") or []) == sorted(readers)
    unproven = changed or earlier_unproven
    if not changed:
        # Unchanged: still unproven only if an earlier run left it so (with no record, byoc cannot
        # know, and does not prove on every run).
        _record(s, readers, proven=not earlier_unproven)
        if earlier_unproven:
            say("An earlier `byoc lockdown` changed the secret policy to these readers but did not prove it "
                "(interrupted, timed out or --no-verify-start): proving it now.")
    report = lockdown_report(s.target(region), outputs, [r for r in readers if r not in (task_role, execution_role)])
    for line in describe_lockdown(report):
        say(line)
    if report.problems:
        raise ByocError("lockdown verification failed: " + "; ".join(report.problems) +
                        ". Check the secret policy with `byoc status` and re-run `byoc lockdown`.")
    judgement = _verdicts(s, region, outputs, readers)
    by_policy = [f"{v.line()} (expected {v.expected})" for v in judgement.wrong if v.by_resource_policy]
    elsewhere = [f"{v.line()} (expected {v.expected})" for v in judgement.wrong if not v.by_resource_policy]
    if by_policy and changed:
        _restore(s, tf, values, previous, options, restart=verify_start)
        raise ByocError(f"lockdown undone: the new secret policy denies {'; '.join(by_policy)}; the previous reader "
                        "list (the policy's before this command) is back. Run `byoc doctor` to see which policy decides it.")
    if by_policy:
        # Nothing to undo: this run changed nothing, and the policy AWS holds denies a reader it lists.
        raise ByocError(f"the secret policy (unchanged: this run applied nothing) denies {'; '.join(by_policy)}. Drop "
                        "that reader (`byoc lockdown --remove-principal <arn>`) or give its full ARN, with the role's "
                        "path (aws:PrincipalArn carries it), then run `byoc lockdown` again.")
    if elsewhere:
        # Not the secret policy's doing (a reader's own policies, the key policy, a principal IAM
        # does not know): undoing the lockdown would unlock the secret for nothing.
        raise ByocError(f"locked down, but {'; '.join(elsewhere)}. The new reader list stays: the secret policy is "
                        "not what denies; give that principal the read grant (attach the <app_name>-secret-read "
                        "policy) or fix the policy named, then run `byoc lockdown` again.")
    if unproven and verify_start:
        with half_done("the new secret policy is applied, but new tasks had not yet proven that they can read under "
                       "it", "`byoc lockdown` (it proves an unproven change)"):
            _prove_tasks_start(s, tf, values, outputs, previous, options)
    elif unproven:
        say("Not proven by a task start (--no-verify-start): the next task to start is the first to read under it; "
            "the next `byoc lockdown` proves it.")
    return report


def _undo_target(before: SecretPolicy | None, saved: list[str]) -> list[str]:
    """The reader list an undo restores: the one the secret policy holds now (none: not locked),
    read from AWS. When byoc cannot read it (unreadable, or statements byoc does not write), the
    saved list, which only ever names readers byoc put there."""
    if before is None or before.unrecognised:
        return saved
    return list(before.readers or [])


def _proven(s: Session, region: str, readers: list[str]) -> None:
    """Say what the task starts proved: against AWS, or an emulator that evaluates policies, that
    the policy lets ECS read; elsewhere, nothing about policies. Recorded as proven either way:
    tasks started under it, all an endpoint that does not judge policies can show."""
    unproven = s.target(region).policies_not_evaluated()
    if unproven:
        say(f"Not proven by the task starts: {unproven}.")
    else:
        say("Proven: new tasks started and read the secret under the new policy.")
    _record(s, readers, proven=True)


def _prove_tasks_start(s: Session, tf, values: dict[str, Any], outputs: dict[str, Any], previous: list[str],
                       options: RollOptions) -> None:
    """New tasks under the new policy; if they cannot fetch the secret, the old reader list again."""
    if values.get("start_tasks", True) is False:
        say("Not proven by a task start: the service runs no tasks yet (the secret has no value; `byoc secret put` "
            "starts them, under this policy).")
        _record(s, values[READERS], proven=True)
        return
    try:
        roll(s, values, outputs, RollOptions(timeout=options.timeout), why="proving they can read under the new policy")
        _proven(s, values["aws_region"], values[READERS])
    except RolloutFailed as exc:
        if not is_secret_fetch_denied(exc.reason):
            raise  # not the policy's doing: it stays, and the failure is what to fix
        if not denied_by_resource_policy(exc.reason):
            # AWS's message names what refused: the role's own policies, a boundary or the key —
            # not the secret policy this command changed, so undoing it would unlock for nothing.
            raise ByocError(f"new tasks could not fetch the secret, and not because of the secret policy: {exc.reason} "
                            f"-> {explain_stopped(exc.reason)}. The new reader list stays (it is not the cause); fix "
                            "that, then start new tasks (`byoc secret put` again, or `byoc lockdown`). `byoc doctor` "
                            "shows which policy decides it.") from None
        say(f"New tasks could not start under the new policy: {exc.reason}")
        again = _restore(s, tf, values, previous, options, restart=True)
        raise ByocError(f"lockdown undone: new tasks could not fetch the secret under the new policy ({exc.reason}); "
                        "the previous reader list (the policy's before this command) is back." + again + " Run `byoc doctor` to see what "
                        "denies the execution role.") from None


def _restore(s: Session, tf, values: dict[str, Any], previous: list[str], options: RollOptions, *,
             restart: bool) -> str:
    """Put the reader list the policy had before back (and, with ``restart``, roll tasks under
    it); returns what went wrong under it too, if anything."""
    values[READERS] = previous
    say("Restoring the previous reader list (the one the secret policy had before this command): "
        + (", ".join(previous) or "(none: not locked to principals)"))
    with half_done("the new policy denied a reader and the reader list it had before was being restored",
                   "`byoc lockdown` (the saved list is the restored one)"):
        s.project.save_inputs(values)
        _record(s, previous, proven=False)
        retry_on_propagation(lambda: s.apply_now(tf, values, show_plan=False), sleep=s.sleep)
        if not restart or values.get("start_tasks", True) is False:
            return ""
        try:
            roll(s, values, s.outputs(), RollOptions(timeout=options.timeout), why="under the previous policy")
        except RolloutFailed as second:
            return f" Under the previous policy they fail too: {second.reason}."
        _record(s, previous, proven=True)
    return ""


def _verdicts(s: Session, region: str, outputs: dict[str, Any], readers: list[str]):
    """Every reader judged by evaluators that are not byoc (``cli/observers/verdicts.py``), each
    verdict printed with its source and the statement that decided. What none could answer is
    said, never taken as a pass."""
    from cli.observers.verdicts import judge_readers

    try:
        judgement = judge_readers(s.target(region), outputs, readers)
    except aws_errors() as exc:
        raise aws_error(exc, "asking for the policy verdicts") from None
    say("Who may read, judged by evaluators that are not byoc:")
    for verdict in judgement.verdicts:
        say(f"  {verdict.line()}")
    for line in judgement.not_checked:
        say(f"  not evaluated: {line}")
    if judgement.verdicts and not judgement.wrong:
        say("Policy verdicts: every reader may read through the endpoint and decrypt; other paths denied.")
    return judgement


def retry_on_propagation(attempt: Callable[[], None], *, sleep: Callable[[float], None]) -> None:
    """Run ``attempt``; when AWS rejects a just-created role as a principal (IAM is eventually
    consistent), say so and try again after 5, 10, 20, 40 s. Any other failure is final."""
    for n, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            attempt()
            return
        except ByocError as exc:
            if delay is None or not _PROPAGATION.search(f"{exc}\n{exc.detail}"):
                raise
            say(f"AWS does not accept a new role as a principal yet (IAM propagation); retrying in {delay}s "
                f"({n + 2}/{len(RETRY_DELAYS) + 1}) ...")
            sleep(delay)
