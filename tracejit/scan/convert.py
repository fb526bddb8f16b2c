"""Loop conversion: the AST rewrite that lets `for` and `while` loops become loop nodes.

A jitted function's source is parsed once (per code object) and every convertible loop

    for i in range(n):              while err > tol:
        BODY                            BODY

becomes a body function and one call into `tracejit.scan.loops`, which decides at trace
time whether the loop is traced once as a `scan`/`while` node or run in Python:

    def _tj_body_12(_tj_item, _tj_carry):
        (h, err) = _tj_carry
        i = _tj_item
        BODY
        return (h, err)
    (h, err) = _tj_loops.for_loop(_tj_loops.lazy_range(n), _tj_body_12, ...)

The carried names are those the body assigns and that are read before being assigned in
an iteration, read by the loop's condition, or read anywhere else in the function: a
temporary used only inside the body is not carried, so it still fuses. `assert` statements
become `_tj_loops.check(...)`, a run-time check when the condition is traced. A loop with
`break`, `continue`, `return` or `else:` has them lowered to flags first (`exits.py`).

The rewritten function is compiled from the AST with the user's file name and line
numbers, so tracebacks, error messages and graph dumps point at the user's lines;
`tracejit.show_converted(f)` shows it as source.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
from typing import Any

from tracejit.scan import exits
from tracejit.scan.syntax import (
    LOOPS,
    PREFIX,
    augmented_only,
    bind,
    call,
    const,
    function,
    loaded,
    locals_call,
    located,
    mutated_containers,
    names_tuple,
    reads_before_write,
    stored,
)


class Converted:
    """A function's converted code and the AST it came from."""

    runtime_name = LOOPS

    def __init__(self, code: types.CodeType, tree: ast.FunctionDef) -> None:
        self.code = code
        self.tree = tree

    @property
    def runtime(self) -> types.ModuleType:
        from tracejit.scan import loops

        return loops


_CACHE: dict[types.CodeType, Converted | None] = {}


def converted(fn: types.FunctionType) -> Converted | None:
    """The converted code of `fn`, or None where there is nothing to convert or its
    source is not available (lambdas, functions built with exec, interactive input)."""
    code = fn.__code__
    if code not in _CACHE:
        try:
            _CACHE[code] = convert(fn)
        except (OSError, TypeError, SyntaxError, IndentationError):
            _CACHE[code] = None
    return _CACHE[code]


def convert(fn: types.FunctionType) -> Converted | None:
    code = fn.__code__
    if code.co_name == "<lambda>" or code.co_flags & (inspect.CO_GENERATOR |
                                                     inspect.CO_COROUTINE):
        return None
    lines, first = inspect.getsourcelines(fn)
    module = ast.parse(textwrap.dedent("".join(lines)))
    fdef = module.body[0]
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != code.co_name:
        return None
    ast.increment_lineno(module, first - 1)
    fdef.decorator_list = []
    rewriter = LoopRewriter(fdef)
    fdef = rewriter.visit(fdef)
    if not rewriter.changed:
        return None
    ast.fix_missing_locations(fdef)
    # compile inside a factory whose parameters are fn's free variables, so the new code
    # has the same free variables (closure cells) as the old
    factory = ast.FunctionDef(
        name=f"{PREFIX}factory", args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=name) for name in code.co_freevars],
            kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(value=ast.Name(id=fdef.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_params=[])
    wrapper = ast.Module(body=[factory], type_ignores=[])
    ast.copy_location(factory, fdef)
    ast.fix_missing_locations(wrapper)
    outer = compile(wrapper, code.co_filename, "exec")
    factory_code = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    new = next(c for c in factory_code.co_consts
               if isinstance(c, types.CodeType) and c.co_name == code.co_name)
    if not set(new.co_freevars) <= set(code.co_freevars):
        return None
    return Converted(named_as_user(new, code.co_name), fdef)


def named_as_user(code: types.CodeType, name: str) -> types.CodeType:
    """The generated functions (loop bodies, branches) named after the user's function,
    so that errors raised in them say `(in newton)`, not `(in _tj_body_8)`."""
    consts = tuple(named_as_user(c, name) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    if code.co_name.startswith(PREFIX):
        code = code.replace(co_name=name)
    return code.replace(co_consts=consts)


def show_converted(fn: Any) -> str:
    """The source of `fn` as tracejit traces it: loops and asserts rewritten."""
    fn = getattr(fn, "fn", fn)
    conv = converted(fn)
    if conv is None:
        return textwrap.dedent(inspect.getsource(fn))
    return ast.unparse(conv.tree)


class LoopRewriter(ast.NodeTransformer):
    def __init__(self, fdef: ast.FunctionDef) -> None:
        self.scopes: list[ast.AST] = [fdef]
        self.changed = False
        self.taken: set[str] = set()

    def fresh(self, base: str) -> str:
        """A name for a generated function, unique in the converted function."""
        name, k = base, 2
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        nested = node is not self.scopes[0]
        if nested:
            self.scopes.append(node)
        node.body = exits.function_body(self.block(node.body), self.fresh)
        if nested:
            self.scopes.pop()
        return node

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            new = self.visit(s)
            out.extend(new if isinstance(new, list) else [new])
        return out

    def carried(self, loop: ast.For | ast.While, extra_defined: set[str],
                extra_reads: set[str], state: set[str]) -> list[str]:
        body_names = exits.user_names({n for s in loop.body for n in stored(s)})
        scope = self.scopes[-1]
        inside = {id(n) for s in loop.body for n in ast.walk(s)}
        outside = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name)
                   and isinstance(n.ctx, ast.Load) and id(n) not in inside}
        rbw, _ = reads_before_write(loop.body, set(extra_defined))
        return sorted((body_names | extra_defined) & (rbw | outside | extra_reads) | state)

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        if sys.flags.optimize:
            return node
        self.changed = True
        msg = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                            kw_defaults=[], defaults=[]),
                         body=node.msg) if node.msg is not None else ast.Constant(None)
        check = ast.Expr(value=call("check", node.test, msg))
        return located(check, node)

    def prepare(self, node: ast.For | ast.While) -> tuple[exits.LoopExits | None, str]:
        """Rewrite the loop's own body first; its exits (`break`, `continue`, `return`,
        `else:`) if it has any, or why it must stay a Python loop."""
        node.body = self.block(node.body)
        node.orelse = self.block(node.orelse)
        self.changed = True
        kinds, why = exits.scan_exits(node.body)
        if why or not (kinds or node.orelse):
            return None, why or ""
        return exits.LoopExits(node, kinds, self.scopes[-1], self.fresh), ""

    def visit_For(self, node: ast.For) -> Any:
        low, why = self.prepare(node)
        if why:
            return self.in_python(node, why)
        line = node.lineno
        carried = self.carried(node, stored(node.target), set(), low.carried if low else set())
        keywords = self.keywords(node, carried, low)
        body_fn = f"{PREFIX}body_{line}"
        item, carry = f"{PREFIX}item", f"{PREFIX}carry"
        body = []
        if carried:
            body.append(ast.Assign(targets=[names_tuple(carried, ast.Store())],
                                   value=ast.Name(id=carry, ctx=ast.Load())))
        body.append(ast.Assign(targets=[node.target], value=ast.Name(id=item, ctx=ast.Load())))
        body += low.lower(node) if low else node.body
        body.append(ast.Return(value=names_tuple(carried, ast.Load())))
        fn = function(body_fn, [item, carry], body)
        loop = call("for_loop", lazy_iter(node.iter), ast.Name(id=body_fn, ctx=ast.Load()),
                    locals_call(), **keywords)
        out = [ast.copy_location(fn, node), located(bind(carried, loop), node)]
        return self.around(low, out, node)

    def around(self, low: exits.LoopExits | None, loop: list[ast.stmt],
               node: ast.AST) -> list[ast.stmt]:
        """The loop's statements with its flags set up before and its `else:` and
        returns after."""
        if low is None:
            return loop
        return [located(s, node) for s in low.before()] + loop + \
            [located(s, node) for s in low.after()]

    def in_python(self, node: ast.For | ast.While, why: str) -> ast.With:
        """A loop that stays a Python loop, inside `with _tj_loops.python_loop(...)`, which
        records it and explains why when its body needs a traced value's Python value."""
        self.changed = True
        manager = call("python_loop", const(node.lineno), const(why))
        return ast.copy_location(ast.With(items=[ast.withitem(context_expr=manager)],
                                          body=[node]), node)

    def keywords(self, node: ast.For | ast.While, carried: list[str],
                 low: exits.LoopExits | None) -> dict[str, ast.expr]:
        out = {"carried": const(carried)}
        inplace = augmented_only(node.body, [n for n in carried if not exits.is_state(n)])
        if inplace:
            out["inplace"] = const(inplace)
        containers = sorted(mutated_containers(node.body))
        if containers:
            out["containers"] = const(containers)
        out["line"] = const(node.lineno)
        if low is not None and low.exit_flag:
            out["exit"] = const(low.exit_flag)
        return out

    def visit_While(self, node: ast.While) -> Any:
        low, why = self.prepare(node)
        if why:
            return self.in_python(node, why)
        line = node.lineno
        carried = self.carried(node, set(), loaded(node.test), low.carried if low else set())
        keywords = self.keywords(node, carried, low)
        carry = f"{PREFIX}carry"
        unpack = [ast.Assign(targets=[names_tuple(carried, ast.Store())],
                             value=ast.Name(id=carry, ctx=ast.Load()))] if carried else []
        cond_fn = function(f"{PREFIX}cond_{line}", [carry], unpack + [ast.Return(node.test)])
        body = low.lower(node) if low else node.body
        body_fn = function(f"{PREFIX}body_{line}", [carry], list(unpack) + body + [
            ast.Return(value=names_tuple(carried, ast.Load()))])
        loop = call("while_loop", ast.Name(id=cond_fn.name, ctx=ast.Load()),
                    ast.Name(id=body_fn.name, ctx=ast.Load()), locals_call(), **keywords)
        out = [ast.copy_location(cond_fn, node), ast.copy_location(body_fn, node),
               located(bind(carried, loop), node)]
        return self.around(low, out, node)


def lazy_iter(it: ast.expr) -> ast.expr:
    """`range(...)` and `enumerate(...)` as objects that do not need concrete bounds."""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and not it.keywords \
            and it.func.id in ("range", "enumerate"):
        return ast.copy_location(call(f"lazy_{it.func.id}", ast.Name(id=it.func.id,
                                                                     ctx=ast.Load()),
                                      *it.args), it)
    return it
