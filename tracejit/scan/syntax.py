"""The Python syntax the loop conversion reads and writes: which names a block binds,
reads, or reads before binding (a conservative flow analysis), and builders for the
statements and calls it generates (`convert.py`, `exits.py`)."""

from __future__ import annotations

import ast
from typing import Any

PREFIX = "_tj_"
LOOPS = "_tj_loops"  # the name the converted code calls the runtime module by

MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update",
                      "add", "discard", "setdefault", "popitem", "sort", "reverse"})


# --- analysis -------------------------------------------------------------------------


def stored(node: ast.AST) -> set[str]:
    """Names a statement binds in its own scope (not inside nested functions)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    out: set[str] = set()
    for sub in walk_scope(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            out.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                sub is not node:
            out.add(sub.name)
        elif isinstance(sub, ast.alias):
            out.add((sub.asname or sub.name).split(".")[0])
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            out.add(sub.name)
    return out


def walk_scope(node: ast.AST):
    """ast.walk that does not enter nested functions, classes, lambdas, comprehensions."""
    stack = [node]
    while stack:
        sub = stack.pop()
        yield sub
        for child in ast.iter_child_nodes(sub):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield child  # its name is bound here; its body is another scope
                stack.extend(child.decorator_list)
                continue
            if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                  ast.GeneratorExp)):
                continue
            stack.append(child)


def loaded(node: ast.AST) -> set[str]:
    """Names read anywhere in `node`, nested functions included (closures read them)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def reads_before_write(stmts: list[ast.stmt], defined: set[str]) -> tuple[set[str], set[str]]:
    """Names the block may read before it has assigned them, and the names it surely
    assigns (a conservative flow analysis: branches intersect, loops may not run)."""
    reads: set[str] = set()
    for s in stmts:
        if isinstance(s, ast.Assign):
            reads |= loaded(s.value) - defined
            for t in s.targets:
                reads |= loaded(t) - defined
            defined = defined | stored(s)
        elif isinstance(s, ast.AugAssign):
            reads |= (loaded(s.value) | loaded(s.target)) - defined
            if isinstance(s.target, ast.Name) and s.target.id not in defined:
                reads.add(s.target.id)
            defined = defined | stored(s)
        elif isinstance(s, ast.AnnAssign):
            reads |= (loaded(s.value) if s.value else set()) - defined
            defined = defined | (stored(s) if s.value else set())
        elif isinstance(s, ast.If):
            r1, d1 = reads_before_write(s.body, defined)
            r2, d2 = reads_before_write(s.orelse, defined)
            reads |= (loaded(s.test) - defined) | r1 | r2
            defined = d1 & d2
        elif isinstance(s, ast.With):
            reads |= set().union(*(loaded(i) for i in s.items)) - defined
            r, defined = reads_before_write(s.body, defined | stored_items(s))
            reads |= r
        elif isinstance(s, (ast.For, ast.While, ast.Try, ast.Match, ast.AsyncFor,
                            ast.AsyncWith)):
            reads |= loaded(s) - defined
        else:
            reads |= loaded(s) - defined
            defined = defined | stored(s)
    return reads, defined


def stored_items(s: ast.With) -> set[str]:
    return set().union(*(stored(i.optional_vars) for i in s.items if i.optional_vars))


def augmented_only(stmts: list[ast.stmt], names: list[str]) -> list[str]:
    """The names among `names` that the body binds only by augmented assignment
    (`u += v`): for an array that is an in-place update, not a rebinding."""
    plain: set[str] = set()
    for s in stmts:
        for n in walk_scope(s):
            if isinstance(n, ast.AugAssign):
                continue
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)) and \
                    not any(n is a.target for a in walk_scope(s) if isinstance(a, ast.AugAssign)):
                plain.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.alias)):
                plain |= stored(n) if not isinstance(n, ast.alias) else set()
    return [n for n in names if n not in plain]


def mutated_containers(stmts: list[ast.stmt]) -> set[str]:
    """Names the body may mutate as Python containers (`xs.append(v)`, `d[k] = v`): if
    one holds a list, dict or set at run time, the loop runs in Python."""
    names: set[str] = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                    n.func.attr in MUTATORS and isinstance(n.func.value, ast.Name):
                names.add(n.func.value.id)
            elif isinstance(n, ast.Subscript) and isinstance(n.ctx, (ast.Store, ast.Del)) \
                    and isinstance(n.value, ast.Name):
                names.add(n.value.id)
    return names

# --- the rewrite ----------------------------------------------------------------------


def runtime(attr: str) -> ast.Attribute:
    return ast.Attribute(value=ast.Name(id=LOOPS, ctx=ast.Load()), attr=attr, ctx=ast.Load())


def call(attr: str, *args: ast.expr, **kwargs: ast.expr) -> ast.Call:
    return ast.Call(func=runtime(attr), args=list(args),
                    keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def const(value: Any) -> ast.expr:
    if isinstance(value, (tuple, list)):
        return ast.Tuple(elts=[const(v) for v in value], ctx=ast.Load())
    return ast.Constant(value=value)


def names_tuple(names: list[str], ctx: ast.expr_context) -> ast.Tuple:
    return ast.Tuple(elts=[ast.Name(id=n, ctx=ctx) for n in names], ctx=ctx)


def function(name: str, params: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    return ast.FunctionDef(
        name=name, args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                                      kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body, decorator_list=[], returns=None, type_params=[])

def bind(names: list[str], value: ast.expr) -> ast.stmt:
    """`a, b = value`, or just `value` when nothing is carried."""
    if not names:
        return ast.Expr(value=value)
    return ast.Assign(targets=[names_tuple(names, ast.Store())], value=value)


def locals_call() -> ast.Call:
    return ast.Call(func=ast.Name(id="locals", ctx=ast.Load()), args=[], keywords=[])


def located(new: ast.AST, node: ast.AST) -> ast.AST:
    """`new` placed at the first line of `node`, and ending there: a generated call runs
    on the line where the user's loop or `if` starts, so errors and graph nodes point at
    that line rather than at the statement's last line."""
    ast.copy_location(new, node)
    new.end_lineno, new.end_col_offset = new.lineno, new.col_offset
    return new
