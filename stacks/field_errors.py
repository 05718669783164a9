"""``FieldError``: a bad value of one named setting — a stack input, or a key of byoc.toml's
``[backend]`` / ``[pinecone]`` tables. Pure Python.

``stacks.inputs.validate`` returns them (every problem at once); the table parsers raise the
first one. The CLI turns either into its one-line ``InputError`` (exit 2) naming ``field``.
"""

from __future__ import annotations


class FieldError(ValueError):
    """``field`` names the setting (``desired_count``, ``backend.bucket``); ``message`` says the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


def reject_unknown(table: dict, known: set[str], where: str) -> None:
    """Raise a FieldError naming the first key of ``table`` (at ``where``, e.g. ``backend``) not in ``known``."""
    unknown = sorted(set(table) - known)
    if unknown:
        raise FieldError(f"{where}.{unknown[0]}", f"{where}.{unknown[0]} is not a [{where}] setting; known: "
                                                  f"{', '.join(sorted(known))}.")
