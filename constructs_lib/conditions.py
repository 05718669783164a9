"""Resources that exist only when an input says so: the one way the constructs write it."""

from __future__ import annotations

from cdktf import Fn, Token


def count_if(condition) -> float:
    """``count`` for a resource that exists when ``condition`` (a bool token) holds: 1, else 0.

    Refer to such a resource's attributes through ``one(<fqn>[*].<attr>)`` or ``<fqn>[0]``.
    """
    return Token.as_number(Fn.conditional(condition, 1, 0))
