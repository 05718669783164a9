"""The error of byoc.toml's synth-time tables ([backend], [pinecone]). Pure Python."""

from __future__ import annotations


class SettingError(ValueError):
    """A bad setting in one of byoc.toml's tables: ``field`` names it (e.g. ``backend.bucket``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def reject_unknown(table: dict, known: set[str], where: str, error: type[SettingError] = SettingError) -> None:
    """Raise ``error`` naming the first key of ``table`` (at ``where``, e.g. ``backend``) not in ``known``."""
    unknown = sorted(set(table) - known)
    if unknown:
        raise error(f"{where}.{unknown[0]}", f"{where}.{unknown[0]} is not a [{where}] setting; known: "
                                             f"{', '.join(sorted(known))}.")
