"""How the emulator's service modules change moto: once per process, each change naming its gap.

A service module keeps its patches in moto's two layers, apart, as moto keeps them:
``patch_responses()`` for the response layer (parsing and answering HTTP, moto's
``responses.py``) and ``patch_models()`` for the model layer (the backends' behaviour, moto's
``models.py``). Its ``install = installer(patch_responses, patch_models)`` applies them the first
time it is called; later calls do nothing. Every change goes through ``replace``, ``set_env`` or
``add_route``, which record it in ``CHANGES`` with the gap it fills (the gap table:
``cli/emulator/gaps.py``) and the layer that made it; a change made outside an ``install()`` is
refused, so none escapes the table.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

#: What a route answers in front of moto: (HTTP status line, headers, body); the server adds
#: Content-Length.
Answer = tuple[str, list[tuple[str, str]], bytes]
#: A route: the WSGI environ in, an Answer out, or None to let moto answer.
Route = Callable[[dict], Answer | None]


@dataclass(frozen=True)
class Change:
    module: str  #: the module whose install() made it (cli.emulator.<service>)
    layer: str  #: the function of that module that made it: patch_responses or patch_models
    gap: int
    what: str  #: e.g. "moto.ecs.responses.EC2ContainerServiceResponse.create_service"


#: Every change made to moto in this process, in the order made.
CHANGES: list[Change] = []
#: The routes the server asks before moto (gaps 10 and 11), in the order installed.
ROUTES: list[Route] = []
_installing: list[tuple[str, str]] = []  # (module, layer) whose patches are being applied
_lock = threading.RLock()


def installer(*layers: Callable[[], None]) -> Callable[[], None]:
    """A module's ``install()``: runs its ``layers`` (``patch_responses``, ``patch_models``) the
    first time it is called, nothing after."""
    module = layers[0].__module__
    done = False

    def install() -> None:
        nonlocal done
        with _lock:
            if done:
                return
            for layer in layers:
                _installing.append((module, layer.__name__))
                try:
                    layer()
                finally:
                    _installing.pop()
            done = True

    install.__module__, install.__qualname__ = module, "install"
    install.__doc__ = f"Apply {module}'s patches to moto (once per process)."
    return install


def _record(gap: int, what: str) -> None:
    if not _installing:
        raise RuntimeError(f"{what}: the emulator changes moto only in a module's install()")
    module, layer = _installing[-1]
    CHANGES.append(Change(module, layer, gap, what))


def replace(owner: type, name: str, *, gap: int) -> Callable[[Any], Any]:
    """Decorator: ``owner.name`` becomes the decorated function (or property), for ``gap``."""
    def apply(new: Any) -> Any:
        _record(gap, f"{owner.__module__}.{owner.__qualname__}.{name}")
        setattr(owner, name, new)
        return new

    return apply


def set_env(name: str, value: str, *, gap: int) -> None:
    """Set one of moto's own switches (an environment variable it reads), for ``gap``."""
    _record(gap, f"environment {name}={value}")
    os.environ[name] = value


def add_route(route: Route, *, gap: int) -> None:
    """Have the server answer some requests before moto sees them (``route``), for ``gap``."""
    _record(gap, f"route {route.__module__}.{route.__qualname__}")
    ROUTES.append(route)


def signed_for(environ: dict, service: str) -> bool:
    """Whether a request is signed for ``service`` (SigV4 credential scope .../<service>/aws4_request)."""
    return f"/{service}/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
