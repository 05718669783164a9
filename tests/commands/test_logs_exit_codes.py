"""`byoc logs --follow` stopped the way the README's exit codes say: Ctrl-C exits 130, SIGTERM
143 (it exited 0). A real process against the session's shared deployment, which it only reads."""

from __future__ import annotations

import signal

import pytest

from byoc_process import interrupted

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "byoc: interrupted; nothing was left half-done."),
                                             (signal.SIGTERM, 143, "byoc: terminated (SIGTERM); nothing was left "
                                                                   "half-done.")],
                         ids=["ctrl-c", "sigterm"])
def test_logs_follow_stopped_by_a_signal_exits_with_its_code(deployed_stack, sig, code, said):
    out, rc = interrupted(deployed_stack, ["logs", "--follow", "--since", "1d"], r"byoc emulator: container", sig=sig)
    assert rc == code, out
    assert said in out and "Traceback" not in out
