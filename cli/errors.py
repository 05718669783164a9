"""The CLI's one exception type: caught at the command boundary, printed as one line."""


class ByocError(Exception):
    """A failure the user can act on. ``exit_code`` 2 = bad input or usage, 1 = runtime failure."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        #: Longer text behind the one-line message (e.g. terraform's full error output).
        self.detail = ""


class InputError(ByocError):
    """Bad input: exit code 2, and nothing has been changed on disk or in AWS."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


class Interrupted(ByocError):
    """Ctrl-C while terraform ran: it was stopped gracefully; exit code 130 like a shell."""

    def __init__(self, command: str) -> None:
        super().__init__(f"interrupted during terraform {command}; terraform stopped gracefully (state saved, "
                         "lock released). Run the command again to finish.", exit_code=130)
