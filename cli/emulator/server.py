"""The emulator's server: moto's WSGI app behind byoc's own routes, served on 127.0.0.1.

In front of moto's ``DomainDispatcherApplication``: the emulator's own endpoint,
``/byoc-emulator/faults`` (the task model's fault switch: GET the faults, POST a JSON object to
switch some on or off, DELETE to clear them all), then the routes the gap modules installed (the
refusal of gap 10, the requests gap 11 judges or answers). Every module of the gap table is installed before the server starts, and
every server starts as an empty AWS: moto's backends and the emulator's own state are reset.

One request at a time reaches moto's backends and the gap modules (``_ONE_REQUEST_AT_A_TIME``).
moto's backends are plain dicts and lists with no locking of their own, and its server answers each
request in a thread: terraform sends ten at once, and under load one request's iteration meets
another's insert (``RuntimeError: dictionary changed size during iteration`` in
``describe_security_group_rules``, an HTML 500). The AWS SDK retries a 500, so a write that had
already changed the model is sent twice and AWS's own answer to the second is
``InvalidPermission.Duplicate`` — a failure no AWS account would show for one request. AWS answers
each request against a consistent state ("Eventual consistency in the Amazon EC2 API" concerns
what later requests see, not a half-applied one), so serializing the requests loses nothing the
emulator models; each is answered in milliseconds.

An answer lost on the way back is given again, not acted on twice (``_Answered``). Inside
``byoc demo`` (the emulator in the same process as the commands) about one request in a thousand
reaches the server whole, is acted on, and then its connection is reset before the client reads
the answer (the server sees ``ConnectionResetError`` while it writes or drains; the AWS SDK
retries); terraform alone against a standalone emulator showed none in 11,000 requests, and the
cause is not found. A retried write then met its own first attempt: ``InvalidGroup.Duplicate``
on CreateSecurityGroup, ``FlowLogAlreadyExists``, ``InvalidPermission.NotFound`` on a revoke —
failures of the emulator's transport, not of the stack. Every AWS SDK sends one
``amz-sdk-invocation-id`` on all attempts of one operation call ("InvocationId provides a
consistent ID across retries", the SDKs' invocation-id interceptor, e.g. docs.rs
``aws_runtime::invocation_id``), and no SDK retries an answer it received with a 2xx status. So
a request whose invocation id, operation and body this server already answered 2xx is such a
retry: it gets the same answer (the same resource id and RequestId), as a transport that had
delivered it would have given. An answer that was not 2xx is acted on again, as AWS does:
throttling and the other retryable errors behave as documented.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import signal
import socket
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from cli.emulator import ecs_tasks, gaps, patching

HOST = "127.0.0.1"
_ONE_REQUEST_AT_A_TIME = threading.Lock()
FAULTS_PATH = "/byoc-emulator/faults"
#: GET: whether this emulator evaluates policies (gap 11) and with what, for byoc to say so.
INFO_PATH = "/byoc-emulator/info"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def install_gaps() -> None:
    """Install every module of the gap table (each does so once per process)."""
    for module in gaps.modules():
        module.install()


class _Answered:
    """The 2xx answers this server gave, by the request they answered (invocation id, method,
    path, query and body): a retry of one of them gets it again. Bounded: an SDK retries within
    seconds (its backoff is at most 20 s per attempt), so the last ``size`` answers are plenty."""

    def __init__(self, size: int = 1024):
        self._size = size
        self._answers: OrderedDict[tuple, tuple[str, list, bytes]] = OrderedDict()

    @staticmethod
    def key(environ) -> tuple | None:
        """The request's identity, or None when it has none to match a retry by (no invocation
        id, or a body without a Content-Length, which is read as a stream). Reads the body and
        puts it back for the app."""
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        length = environ.get("CONTENT_LENGTH")
        if not invocation or (length is None and environ.get("REQUEST_METHOD") in ("POST", "PUT", "PATCH")):
            return None
        body = environ["wsgi.input"].read(int(length or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        return (invocation, environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                environ.get("QUERY_STRING"), environ.get("HTTP_X_AMZ_TARGET"), hashlib.sha256(body).digest())

    def get(self, key: tuple | None) -> tuple[str, list, bytes] | None:
        return None if key is None else self._answers.get(key)

    def put(self, key: tuple | None, status: str, headers: list, data: bytes) -> None:
        if key is None or not status.startswith("2"):
            return
        self._answers[key] = (status, headers, data)
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def clear(self) -> None:
        self._answers.clear()


_ANSWERED = _Answered()


def _faults(environ, start_response):
    """The fault switch of the task model (``ecs_tasks.FAULTS``)."""
    try:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            found, status = ecs_tasks.set_faults(json.loads(body or b"{}")), "200 OK"
        elif method == "DELETE":
            found, status = ecs_tasks.set_faults(dict.fromkeys(ecs_tasks.FAULTS)), "200 OK"
        else:
            found, status = ecs_tasks.faults(), "200 OK"
        payload = {"faults": found}
    except (ValueError, TypeError, AttributeError) as exc:
        payload, status = {"error": str(exc)}, "400 Bad Request"
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _with_byoc_routes(app):
    """The moto app, plus the emulator's own endpoint (the fault switch of the task model) and the
    routes the gap modules installed (gap 10's refusal of Access Analyzer, gap 11's judged requests and
    IAM's policy simulator)."""
    def wsgi(environ, start_response):
        with _ONE_REQUEST_AT_A_TIME:
            key = _Answered.key(environ)
            given = _ANSWERED.get(key)
            if given is not None:  # a retry of a request answered 2xx: its answer was lost
                status, headers, data = given
                start_response(status, headers)
                return [data]
            sent: dict[str, Any] = {}

            def noting(status, headers, exc_info=None):
                sent["status"], sent["headers"] = status, list(headers)
                return start_response(status, headers, exc_info)

            # The whole body is produced inside the lock: a WSGI app may do its work while its
            # answer is iterated.
            result = answer(environ, noting)
            try:
                data = b"".join(result)
            finally:
                if hasattr(result, "close"):  # PEP 3333: the server calls close() when done
                    result.close()
            _ANSWERED.put(key, sent.get("status", ""), sent.get("headers", []), data)
            return [data]

    def answer(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(FAULTS_PATH):
            return _faults(environ, start_response)
        if environ.get("PATH_INFO", "") == INFO_PATH:
            from cli.emulator import accessanalyzer, authorizer, secretsmanager

            info = authorizer.info()
            # What the policy validators (gaps 10 and 12) answer, and so what they do not.
            info["validators"] = {**accessanalyzer.NOTES, **secretsmanager.NOTES} if authorizer.evaluating() else {}
            data = json.dumps(info).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        for route in patching.ROUTES:
            answer = route(environ)
            if answer is not None:
                status, headers, data = answer
                start_response(status, [*headers, ("Content-Length", str(len(data)))])
                return [data]
        return app(environ, start_response)
    return wsgi


def make_server(port: int):
    """A werkzeug server for the emulator on HOST:port (not yet serving)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    # The server logs every request through werkzeug; byoc's output is about the stack, not HTTP.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return werkzeug_server(HOST, port, _with_byoc_routes(DomainDispatcherApplication(create_backend_app)), True,
                           request_handler=MotoRequestHandler)


def _serve_without_signals(server) -> None:
    """Serve with SIGINT and SIGTERM blocked in this thread (and the request threads it starts,
    which inherit its mask): the kernel may deliver a process signal to any thread that does not
    block it, and Python acts on it only in the main thread, so a Ctrl-C taken by a serving
    thread would leave ``byoc emulator``'s main thread asleep."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    server.serve_forever()


def reset(port: int) -> None:
    """Empty moto's backends (through the server at ``port``) and the emulator's own state."""
    # moto keeps its accounts in process-global backends, so a second emulator in the same process
    # would see the first one's resources: every emulator starts as an empty AWS.
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://{HOST}:{port}/moto-api/reset", method="POST"),
                           timeout=30).close()
    for module in gaps.modules():
        if hasattr(module, "reset"):  # the state a gap module keeps beside moto's backends
            module.reset()
    _ANSWERED.clear()


@contextmanager
def serving(port: int, say: Callable[[str], Any] = print) -> Iterator[str]:
    """Serve the emulator on HOST:port in a thread of this process; yields its URL, stops on exit.
    The policy evaluator starts first (installed on first use; ``say`` tells)."""
    from cli.emulator import authorizer

    install_gaps()
    authorizer.start(say)
    server = make_server(port)
    thread = threading.Thread(target=_serve_without_signals, args=(server,), daemon=True)
    thread.start()
    reset(port)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        # Bounded: shutdown() waits for the serving loop, and a stop (Ctrl-C, SIGTERM) must never
        # hang on a request still being answered; the serving threads are daemons.
        threading.Thread(target=server.shutdown, daemon=True).start()
        thread.join(timeout=10)
