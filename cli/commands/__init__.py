"""The commands: Typer only — each parses its options, makes one call into an action
(``cli/actions/``) or an observer (``cli/observers/``) and prints what it returns. One module per
command; no command imports another. Importing this package registers them all on ``app`` in the
order ``byoc --help`` lists them."""

from cli.commands import (  # noqa: F401 - imported for the commands they register
    synth, plan, deploy, lockdown, status, output, logs, doctor, destroy, emulator, demo, cost, secret, backend,
    evaluator, completion, version)
from cli.commands.app import app, backend_app, evaluator_app, secret_app

app.add_typer(secret_app, name="secret")
app.add_typer(backend_app, name="backend")
app.add_typer(evaluator_app, name="evaluator")

__all__ = ["app"]
