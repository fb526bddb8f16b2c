"""`break`, `continue`, `return` and `else:` in converted loops: lowered to flags, so the
loop can still be one loop node (a `while` when it may stop early), as AutoGraph does.

    for i in range(100):                    _tj_break_1 = False
        x = x - dx(x)                       def _tj_body_1(_tj_item, _tj_carry):
        if err(x) < tol:                        ...
            break                               x = x - dx(x)
    else:                                       if err(x) < tol:       # -> if_stmt(...)
        x = fail(x)                                 _tj_break_1 = True
                                                ...
                                            ... = _tj_loops.for_loop(..., exit='_tj_break_1')
                                            if _tj_loops.running(_tj_break_1):  # else:
                                                x = fail(x)

- `break` sets the loop's break flag, which the loop's runtime tests with its condition;
- `continue` sets a continue flag, reset at the top of each iteration;
- `return v` sets `_tj_return`, `_tj_value = v` and the break flag; after the loop,
  `if _tj_loops.returned(_tj_return, line): return _tj_value`, which `function_body`
  turns, directly in a function body, into `return _tj_loops.if_return(locals(),
  _tj_rest_N, ...)` with the rest of the function as `_tj_rest_N`, and which the lowering
  of an enclosing loop lowers as a `return` of its own;
- statements after a statement that may exit run under `if _tj_loops.running(flags):`;
- every `if` of the lowered body becomes `_tj_loops.if_stmt(...)` (branches.py): one
  branch in Python where the condition is a Python value, both selected where it is
  traced.

Exits inside `try`, `match` or a loop that stays in Python are not lowered: such a loop
runs in Python (`python_loop`), as do loops with `yield`, `global` or `nonlocal`.
"""

from __future__ import annotations

import ast
from typing import Callable

from tracejit.scan.syntax import (
    LOOPS,
    PREFIX,
    bind,
    call,
    const,
    function,
    locals_call,
    located,
    names_tuple,
    reads_before_write,
    stored,
)

RETURN, VALUE = f"{PREFIX}return", f"{PREFIX}value"
STATE = (f"{PREFIX}break_", f"{PREFIX}continue_", RETURN, VALUE)  # names the runtime carries
VALS = f"{PREFIX}vals"
BLOCKING = {ast.Try: "a try statement", ast.Match: "a match statement",
            ast.AsyncWith: "an async with statement", ast.For: "a loop that runs in Python",
            ast.While: "a loop that runs in Python", ast.AsyncFor: "an async for loop"}
if hasattr(ast, "TryStar"):
    BLOCKING[ast.TryStar] = "a try statement"


def is_state(name: str) -> bool:
    """A name the converted code binds and the loops carry (flags, the return value)."""
    return name.startswith(STATE)


def user_names(names: set[str]) -> set[str]:
    """Names bound by the user's code or carried as state (not generated functions)."""
    return {n for n in names if not n.startswith(PREFIX) or is_state(n)}


def is_return_check(s: ast.stmt) -> bool:
    """`if _tj_loops.returned(_tj_return, line): return _tj_value`, after a loop."""
    t = getattr(s, "test", None)
    return isinstance(s, ast.If) and isinstance(t, ast.Call) and \
        isinstance(t.func, ast.Attribute) and t.func.attr == "returned" and \
        isinstance(t.func.value, ast.Name) and t.func.value.id == LOOPS


def scan_exits(stmts: list[ast.stmt]) -> tuple[set[str], str | None]:
    """The exits of a loop body that leave its loop ("break", "continue", "return"), and
    why the loop cannot be a body function (None if it can)."""
    kinds: set[str] = set()

    def visit(node: ast.AST, blocked: str, inner: bool) -> str | None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                  ast.Lambda)):
                continue
            name = type(child).__name__.lower()
            if isinstance(child, (ast.Yield, ast.YieldFrom, ast.Await)):
                return f"`{name}` at line {child.lineno}"
            if isinstance(child, (ast.Global, ast.Nonlocal)):
                return f"a `{name}` statement at line {child.lineno}"
            if isinstance(child, ast.Return) or (isinstance(child, (ast.Break, ast.Continue))
                                                 and not inner):
                if blocked:
                    return f"`{name}` inside {blocked} at line {child.lineno}"
                kinds.add(name)
            why = visit(child, blocked or BLOCKING.get(type(child), ""),
                        inner or isinstance(child, (ast.For, ast.While, ast.AsyncFor)))
            if why:
                return why
        return None

    why = visit(ast.Module(body=list(stmts), type_ignores=[]), "", False)
    return kinds, why


class LoopExits:
    """The exits of one loop: its flags, its lowered body, what goes before and after it.

    `fresh(base)` gives an unused function name; `scope` is the user function the loop
    is in (names it reads outside an `if` keep the `if`'s results alive)."""

    def __init__(self, loop: ast.For | ast.While, kinds: set[str], scope: ast.AST,
                 fresh: Callable[[str], str]) -> None:
        self.line = loop.lineno
        self.brk, self.cont = f"{PREFIX}break_{self.line}", f"{PREFIX}continue_{self.line}"
        self.returns = "return" in kinds
        self.breaks = "break" in kinds or self.returns
        self.continues = "continue" in kinds
        self.orelse = loop.orelse
        self.scope, self.fresh = scope, fresh

    @property
    def carried(self) -> set[str]:
        """State names the loop carries (its runtime reads the break flag)."""
        out = {self.brk} if self.breaks else set()
        return out | ({RETURN, VALUE} if self.returns else set())

    @property
    def exit_flag(self) -> str | None:
        return self.brk if self.breaks else None

    def lower(self, loop: ast.For | ast.While) -> list[ast.stmt]:
        """The loop's body with its exits lowered and its `if`s made conditionals."""
        body, _ = self.block(loop.body)
        if self.continues:
            body.insert(0, assign(self.cont, ast.Constant(False)))
        loop.body = body  # in the tree, so the conditionals see the names read around them
        return functionalize(body, self.scope, self.fresh)

    def before(self) -> list[ast.stmt]:
        out = [assign(self.brk, ast.Constant(False))] if self.breaks else []
        return out + ([assign(RETURN, ast.Constant(False))] if self.returns else [])

    def after(self) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        if self.orelse and not self.breaks:
            out += self.orelse
        elif self.orelse:
            guard = ast.If(test=call("running", name(self.brk)), body=self.orelse, orelse=[])
            ast.copy_location(guard, self.orelse[0])
            kinds, _ = scan_exits(self.orelse)
            out += [guard] if kinds else conditional(guard, self.scope, self.fresh)
        if self.returns:
            check = ast.If(test=call("returned", name(RETURN), const(self.line)),
                           body=[ast.Return(value=name(VALUE))], orelse=[])
            out.append(check)
        return out

    def block(self, stmts: list[ast.stmt]) -> tuple[list[ast.stmt], set[str]]:
        """Statements with this loop's exits lowered, and the flags they may set."""
        out: list[ast.stmt] = []
        for k, s in enumerate(stmts):
            if isinstance(s, (ast.Break, ast.Continue, ast.Return)):
                return out + self.exit(s), {self.cont if isinstance(s, ast.Continue)
                                            else self.brk}
            if is_return_check(s):
                s = ast.copy_location(ast.If(test=name(RETURN), body=[
                    assign(self.brk, ast.Constant(True))], orelse=[]), s)
                flags = {self.brk}
            elif isinstance(s, ast.If) and scan_exits([s])[0]:
                body, f1 = self.block(s.body)
                orelse, f2 = self.block(s.orelse)
                s = ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()],
                                             orelse=orelse), s)
                flags = f1 | f2
            elif isinstance(s, ast.With) and scan_exits([s])[0]:
                body, flags = self.block(s.body)
                s = ast.copy_location(ast.With(items=s.items, body=body), s)
            else:
                out.append(s)
                continue
            out.append(s)
            rest, more = self.block(stmts[k + 1:])
            if rest:
                test = call("running", *(name(f) for f in sorted(flags)))
                out.append(ast.copy_location(ast.If(test=test, body=rest, orelse=[]),
                                             stmts[k + 1]))
            return out, flags | more
        return out, set()

    def exit(self, s: ast.stmt) -> list[ast.stmt]:
        if isinstance(s, ast.Continue):
            out = [assign(self.cont, ast.Constant(True))]
        elif isinstance(s, ast.Break):
            out = [assign(self.brk, ast.Constant(True))]
        else:
            out = [assign(RETURN, ast.Constant(True)),
                   assign(VALUE, s.value or ast.Constant(None)),
                   assign(self.brk, ast.Constant(True))]
        return [located(a, s) for a in out]


# --- conditionals ------------------------------------------------------------------------


def functionalize(stmts: list[ast.stmt], scope: ast.AST,
                  fresh: Callable[[str], str]) -> list[ast.stmt]:
    """Every `if` of a lowered loop body (not inside nested functions or loops) as a call
    of `_tj_loops.if_stmt` with its branches as functions."""
    out: list[ast.stmt] = []
    for s in stmts:
        if isinstance(s, ast.If):
            out += conditional(s, scope, fresh)
        elif isinstance(s, ast.With):
            s.body = functionalize(s.body, scope, fresh)
            out.append(s)
        else:
            out.append(s)
    return out


def conditional(node: ast.If, scope: ast.AST, fresh: Callable[[str], str]) -> list[ast.stmt]:
    """`if test: A else: B` as `names = if_stmt(test, then, else, ...)`, for the names
    either branch binds that are read after it (or read by it before binding them)."""
    names = if_outputs(node, scope)
    line = node.lineno
    unpack = [ast.Assign(targets=[names_tuple(names, ast.Store())],
                         value=name(VALS))] if names else []
    fns = []
    for base, block in (("then", node.body), ("else", node.orelse)):
        block = functionalize(block, scope, fresh)
        fns.append(function(fresh(f"{PREFIX}{base}_{line}"), [VALS], unpack + block + [
            ast.Return(value=names_tuple(names, ast.Load()))]))
    test = call("if_stmt", node.test, name(fns[0].name), name(fns[1].name), locals_call(),
                const(names), const(line))
    return [ast.copy_location(fns[0], node), ast.copy_location(fns[1], node),
            located(bind(names, test), node)]


def if_outputs(node: ast.If, scope: ast.AST) -> list[str]:
    assigned = user_names({n for s in node.body + node.orelse for n in stored(s)})
    inside = {id(n) for n in ast.walk(node)}
    outside = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name)
               and isinstance(n.ctx, ast.Load) and id(n) not in inside}
    needed = reads_before_write(node.body, set())[0] | \
        reads_before_write(node.orelse, set())[0] | outside
    return sorted(n for n in assigned if n in needed or is_state(n))


# --- returns directly in a function body -------------------------------------------------


def function_body(stmts: list[ast.stmt], fresh: Callable[[str], str]) -> list[ast.stmt]:
    """A converted function body in which a loop may `return`: the rest of the function
    after the loop becomes a function, so a traced flag can select between the loop's
    return value and the rest's."""
    for k, s in enumerate(stmts):
        if not is_return_check(s):
            continue
        line = s.test.args[1].value
        rest = function_body(stmts[k + 1:], fresh)
        names = sorted(user_names({n for r in rest for n in stored(r)}))
        unpack = [ast.Assign(targets=[names_tuple(names, ast.Store())],
                             value=name(VALS))] if names else []
        fn = function(fresh(f"{PREFIX}rest_{line}"), [VALS], (unpack + rest) or [ast.Pass()])
        ret = ast.Return(value=call("if_return", locals_call(), name(fn.name), const(names),
                                    const(line)))
        return stmts[:k] + [ast.copy_location(fn, s), located(ret, s)]
    return stmts


def assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value)


def name(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())
