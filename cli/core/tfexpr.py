"""Evaluate the Terraform expressions of a synthesized cdk.tf.json from the stack's inputs.

Just enough of Terraform's expression language to count what a plan would create without
running terraform: ``count``/``for_each`` (``${var.x ? 1 : 0}``, ``${toset(var.list)}``,
``${lookup({...}, var.mode, 2)}``, ``[for ...]``), and attributes such as a task's
``${tostring(var.task_cpu)}``. ``var.*`` comes from the inputs (then the variable's default in
the JSON), ``local.*`` from the JSON's ``locals``, ``each.*``/``count.index`` from the instance
being expanded. Anything only known after apply (``aws_subnet.a.id``, ``data.*``) raises
``Unknown``; syntax or functions outside this subset raise ``Unsupported``. Both are
``ExprError``, which callers turn into a visible warning instead of a guess.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

Node = Callable[[dict], Any]


class ExprError(Exception):
    """An expression this module cannot evaluate (see ``Unknown`` and ``Unsupported``)."""


class Unknown(ExprError):
    """A value known only after apply, or an input that has no value."""


class Unsupported(ExprError):
    """Syntax or a function outside the supported subset."""


def _num(v: Any) -> float | int:
    if isinstance(v, bool):
        raise Unsupported(f"a bool where a number is needed: {v}")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            raise Unsupported(f"not a number: {v!r}") from None
        return int(f) if f.is_integer() else f
    raise Unsupported(f"not a number: {v!r}")


def _str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float, str)):
        return str(v)
    raise Unsupported(f"not a string: {v!r}")


def _toset(v: Any) -> list:
    items = list(v.values()) if isinstance(v, dict) else list(v)
    unique = list(dict.fromkeys(items)) if all(isinstance(i, (str, int, float, bool)) for i in items) else items
    return sorted(unique) if all(isinstance(i, str) for i in unique) else unique


def _lookup(m: dict, key: Any, *default: Any) -> Any:
    if key in m:
        return m[key]
    if default:
        return default[0]
    raise Unsupported(f"lookup: no key {key!r}")


def _one(items: list) -> Any:
    if len(items) > 1:
        raise Unsupported("one(): more than one element")
    return items[0] if items else None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": lambda v: len(v),
    "toset": _toset,
    "tolist": lambda v: list(v),
    "tomap": lambda v: dict(v),
    "tonumber": lambda v: None if v is None else _num(v),
    "tostring": lambda v: None if v is None else _str(v),
    "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[v],
    "contains": lambda coll, v: v in coll,
    "lookup": _lookup,
    "element": lambda coll, i: list(coll)[int(_num(i)) % len(coll)],
    "concat": lambda *lists: [x for lst in lists for x in lst],
    "distinct": lambda v: list(dict.fromkeys(v)),
    "compact": lambda v: [x for x in v if x not in (None, "")],
    "flatten": lambda v: [y for x in v for y in (x if isinstance(x, list) else [x])],
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
    "coalesce": lambda *vs: next(v for v in vs if v not in (None, "")),
    "min": lambda *vs: min(_num(v) for v in vs),
    "max": lambda *vs: max(_num(v) for v in vs),
    "floor": lambda v: math.floor(_num(v)),
    "ceil": lambda v: math.ceil(_num(v)),
    "abs": lambda v: abs(_num(v)),
    "lower": lambda s: _str(s).lower(),
    "upper": lambda s: _str(s).upper(),
    "setsubtract": lambda a, b: [x for x in _toset(a) if x not in list(b)],
    "setintersection": lambda a, *bs: [x for x in _toset(a) if all(x in list(b) for b in bs)],
    "setunion": lambda *sets: _toset([x for s in sets for x in s]),
    "slice": lambda v, start, end: list(v)[int(_num(start)):int(_num(end))],
    "range": lambda *a: list(range(*(int(_num(x)) for x in a))),
    "zipmap": lambda ks, vs: dict(zip((_str(k) for k in ks), vs)),
    "one": lambda v: _one(list(v)),
    "sum": lambda v: sum(_num(x) for x in v),
    "alltrue": lambda v: all(v),
    "anytrue": lambda v: any(v),
    "join": lambda sep, v: _str(sep).join(_str(x) for x in v),
    "split": lambda sep, s: _str(s).split(_str(sep)),
}

_BINARY = [  # lowest precedence first
    ("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"), ("+", "-"), ("*", "/", "%"),
]
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "||": lambda a, b: bool(a) or bool(b), "&&": lambda a, b: bool(a) and bool(b),
    "==": lambda a, b: a == b and type(a) is type(b) or (_isnum(a) and _isnum(b) and a == b),
    "!=": lambda a, b: not _OPS["=="](a, b),
    "<": lambda a, b: _num(a) < _num(b), ">": lambda a, b: _num(a) > _num(b),
    "<=": lambda a, b: _num(a) <= _num(b), ">=": lambda a, b: _num(a) >= _num(b),
    "+": lambda a, b: _num(a) + _num(b), "-": lambda a, b: _num(a) - _num(b),
    "*": lambda a, b: _num(a) * _num(b), "/": lambda a, b: _num(a) / _num(b),
    "%": lambda a, b: _num(a) % _num(b),
}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Parser:
    """Recursive descent over the text; each rule returns a node ``f(ctx) -> value``."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    # -- characters ----------------------------------------------------------------------
    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.ws()
        return self.text.startswith(token, self.pos)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise Unsupported(f"expected {token!r} at {self.pos} in {self.text!r}")

    def ident(self) -> str | None:
        self.ws()
        m = _IDENT.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group()

    # -- templates -----------------------------------------------------------------------
    def template(self, quoted: bool) -> Node:
        """A string with ``${...}`` parts; ``quoted`` stops at the closing quote."""
        parts: list[Node | str] = []
        buf: list[str] = []
        while True:
            if self.pos >= len(self.text):
                if quoted:
                    raise Unsupported(f"unterminated string in {self.text!r}")
                break
            c = self.text[self.pos]
            if quoted and c == '"':
                self.pos += 1
                break
            if self.text.startswith("$${", self.pos) or self.text.startswith("%%{", self.pos):
                buf.append(self.text[self.pos + 1:self.pos + 3])
                self.pos += 3
            elif self.text.startswith("%{", self.pos):
                raise Unsupported("template directives (%{...}) are not supported")
            elif self.text.startswith("${", self.pos):
                self.pos += 2
                self.take("~")
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(self.expr())
                self.take("~")
                self.expect("}")
            elif quoted and c == "\\":
                nxt = self.text[self.pos + 1:self.pos + 2]
                if nxt == "u":
                    buf.append(chr(int(self.text[self.pos + 2:self.pos + 6], 16)))
                    self.pos += 6
                else:
                    buf.append(_ESCAPES.get(nxt, nxt))
                    self.pos += 2
            else:
                buf.append(c)
                self.pos += 1
        if buf:
            parts.append("".join(buf))
        if len(parts) == 1 and not isinstance(parts[0], str):
            return parts[0]  # "${expr}" alone keeps the expression's type
        return lambda ctx: "".join(p if isinstance(p, str) else _str(p(ctx)) for p in parts)

    # -- expressions ---------------------------------------------------------------------
    def expr(self) -> Node:
        cond = self.binary(0)
        if not self.take("?"):
            return cond
        yes = self.expr()
        self.expect(":")
        no = self.expr()
        return lambda ctx: yes(ctx) if cond(ctx) else no(ctx)

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            self.ws()
            op = next((o for o in _BINARY[level] if self.text.startswith(o, self.pos)
                       and not (o in ("<", ">") and self.text.startswith(o + "=", self.pos))), None)
            if op is None:
                return left
            self.pos += len(op)
            right = self.binary(level + 1)
            left = (lambda f, l, r: lambda ctx: f(l(ctx), r(ctx)))(_OPS[op], left, right)

    def unary(self) -> Node:
        if self.take("!"):
            inner = self.unary()
            return lambda ctx: not inner(ctx)
        if self.take("-"):
            inner = self.unary()
            return lambda ctx: -_num(inner(ctx))
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.peek("[*]") or self.peek(".*"):
                raise Unsupported("splat expressions are not supported")
            if self.take("["):
                index = self.expr()
                self.expect("]")
                node = (lambda n, i: lambda ctx: _index(n(ctx), i(ctx)))(node, index)
            elif self.peek(".") and not self.peek("..."):
                self.pos += 1
                name = self.ident() or self._digits()
                node = (lambda n, k: lambda ctx: _index(n(ctx), k))(node, name)
            else:
                return node

    def _digits(self) -> str:
        m = re.compile(r"[0-9]+").match(self.text, self.pos)
        if not m:
            raise Unsupported(f"expected a name at {self.pos} in {self.text!r}")
        self.pos = m.end()
        return m.group()

    def primary(self) -> Node:
        self.ws()
        if self.take("("):
            inner = self.expr()
            self.expect(")")
            return inner
        if self.take('"'):
            return self.template(quoted=True)
        if self.take("["):
            return self.for_expr("]") if self.peek("for ") else self.sequence("]", list)
        if self.take("{"):
            return self.for_expr("}") if self.peek("for ") else self.object()
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            value = _num(m.group())
            return lambda ctx: value
        name = self.ident()
        if name is None:
            raise Unsupported(f"unexpected {self.text[self.pos:self.pos + 10]!r} in {self.text!r}")
        if name in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[name]
            return lambda ctx: value
        if self.peek("("):
            return self.call(name)
        return lambda ctx: _root(ctx, name)

    def sequence(self, close: str, build: Callable) -> Node:
        items: list[Node] = []
        while not self.take(close):
            items.append(self.expr())
            if not self.take(","):
                self.expect(close)
                break
        return lambda ctx: build(i(ctx) for i in items)

    def object(self) -> Node:
        pairs: list[tuple[Node, Node]] = []
        while not self.take("}"):
            self.ws()
            m = _IDENT.match(self.text, self.pos)
            if m and not self.text.startswith("(", m.end()):  # a bare key is a literal name
                self.pos = m.end()
                key: Node = (lambda k: lambda ctx: k)(m.group())
            else:
                key = self.expr()
            if not (self.take("=") or self.take(":")):
                raise Unsupported(f"expected '=' or ':' in object {self.text!r}")
            pairs.append((key, self.expr()))
            self.take(",")
        return lambda ctx: {_str(k(ctx)): v(ctx) for k, v in pairs}

    def call(self, name: str) -> Node:
        self.expect("(")
        args: list[Node] = []
        while not self.take(")"):
            args.append(self.expr())
            if self.take("..."):
                raise Unsupported("expanding function arguments (...) is not supported")
            if not self.take(","):
                self.expect(")")
                break
        if name in ("try", "can"):
            def attempt(ctx: dict) -> Any:
                for arg in args:
                    try:
                        value = arg(ctx)
                        return True if name == "can" else value
                    except Unsupported:
                        raise
                    except (ExprError, LookupError, TypeError, ValueError, ZeroDivisionError):
                        continue
                if name == "can":
                    return False
                raise Unsupported("try: no argument could be evaluated")
            return attempt
        if name not in FUNCTIONS:
            raise Unsupported(f"function {name}() is not supported")
        func = FUNCTIONS[name]

        def apply(ctx: dict) -> Any:
            values = [a(ctx) for a in args]
            try:
                return func(*values)
            except ExprError:
                raise
            except (LookupError, TypeError, ValueError, ZeroDivisionError, StopIteration) as exc:
                raise Unsupported(f"{name}(): {exc}") from None
        return apply

    def for_expr(self, close: str) -> Node:
        self.expect("for")
        first = self.ident()
        second = self.ident() if self.take(",") else None
        self.expect("in")
        coll = self.expr()
        self.expect(":")
        key = self.expr()
        value = None
        if close == "}":
            self.expect("=>")
            value = self.expr()
            if self.take("..."):
                raise Unsupported("grouping (...) in for expressions is not supported")
        cond = None
        if self.peek("if ") or self.peek("if("):
            self.pos += 2
            cond = self.expr()
        self.expect(close)

        def run(ctx: dict) -> Any:
            source = coll(ctx)
            pairs = list(source.items()) if isinstance(source, dict) else list(enumerate(source))
            out_list, out_map = [], {}
            for k, v in pairs:
                local = {**ctx, "_scope": {**ctx.get("_scope", {}), **(
                    {first: k, second: v} if second else {first: v})}}
                if cond is not None and not cond(local):
                    continue
                if value is None:
                    out_list.append(key(local))
                else:
                    out_map[_str(key(local))] = value(local)
            return out_list if value is None else out_map
        return run


def _index(container: Any, key: Any) -> Any:
    try:
        if isinstance(container, list):
            return container[int(_num(key))]
        return container[_str(key) if isinstance(container, dict) else key]
    except (LookupError, TypeError):
        raise Unsupported(f"no element {key!r} in {container!r}") from None


class _Namespace(dict):
    """``var``/``local``/``each``/``count``: an attribute lookup that says what is missing."""

    def __init__(self, lookup: Callable[[str], Any]) -> None:
        super().__init__()
        self.lookup = lookup

    def __getitem__(self, name: str) -> Any:
        return self.lookup(name)


def _root(ctx: dict, name: str) -> Any:
    scope = ctx.get("_scope", {})
    if name in scope:
        return scope[name]
    if name in ctx:
        return ctx[name]
    raise Unknown(f"{name}.* is known only after apply")


class Evaluator:
    """Evaluates JSON values of one synthesized stack with the given input ``values``."""

    def __init__(self, stack: dict, values: dict[str, Any]) -> None:
        self.variables = stack.get("variable") or {}
        self.locals = stack.get("locals") or {}
        self.values = values
        self._local_cache: dict[str, Any] = {}
        self._active: set[str] = set()

    def _var(self, name: str) -> Any:
        if name in self.values and self.values[name] is not None:
            return self.values[name]
        spec = self.variables.get(name)
        if isinstance(spec, dict) and "default" in spec:
            return spec["default"]
        raise Unknown(f"var.{name} has no value")

    def _local(self, name: str) -> Any:
        if name in self._local_cache:
            return self._local_cache[name]
        if name not in self.locals:
            raise Unknown(f"local.{name} is not defined")
        if name in self._active:
            raise Unsupported(f"local.{name} refers to itself")
        self._active.add(name)
        try:
            value = self.value(self.locals[name])
        finally:
            self._active.discard(name)
        self._local_cache[name] = value
        return value

    def context(self, **instance: Any) -> dict:
        ctx = {"var": _Namespace(self._var), "local": _Namespace(self._local)}
        ctx.update(instance)
        return ctx

    def value(self, raw: Any, ctx: dict | None = None) -> Any:
        """``raw`` (a JSON value whose strings may hold ``${...}``) evaluated."""
        ctx = ctx if ctx is not None else self.context()
        if isinstance(raw, str):
            return evaluate(raw, ctx)
        if isinstance(raw, list):
            return [self.value(item, ctx) for item in raw]
        if isinstance(raw, dict):
            return {k: self.value(v, ctx) for k, v in raw.items() if k != "//"}
        return raw

    def instances(self, body: dict) -> list[dict]:
        """One evaluation context per instance a plan would create for this resource body.

        No ``count``/``for_each``: one. ``count``: that many, with ``count.index``. ``for_each``:
        one per element of the (deduplicated) set or per key of the map, with ``each.key``/``each.value``.
        """
        if "count" in body:
            n = self.value(body["count"])
            return [self.context(count={"index": i}) for i in range(int(_num(n)))]
        if "for_each" in body:
            coll = self.value(body["for_each"])
            if isinstance(coll, dict):
                return [self.context(each={"key": k, "value": v}) for k, v in coll.items()]
            return [self.context(each={"key": v, "value": v}) for v in _toset(coll)]
        return [self.context()]


def evaluate(text: str, ctx: dict) -> Any:
    """A JSON string value: plain text, or a template with ``${...}`` interpolations."""
    if "${" not in text and "%{" not in text:
        return text
    parser = _Parser(text)
    node = parser.template(quoted=False)
    try:
        return node(ctx)
    except ExprError:
        raise
    except (LookupError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise Unsupported(f"{text}: {exc}") from None
