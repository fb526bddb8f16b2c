"""The Numba backend's rule for `debug_print`: an object-mode call of the op's NumPy
implementation (the same formatting as the interpreter's), kept in order with the
compiled code around it; inside a compiled loop it runs once per iteration."""

from __future__ import annotations

import hashlib
from typing import Any

from tracejit.emit.numba import calls
from tracejit.graph.ir import Eqn


def debug_print_rule(w: Any, eqn: Eqn, check: bool) -> bool:
    if check:
        return True
    hook = f"K{len(w.hooks)}"
    w.hooks[hook] = eqn  # the loader binds it to `calls.make_hook(eqn)`
    # the hook is bound per module, so the text names what it prints
    digest = hashlib.sha256(repr((eqn.params["fmt"], eqn.params["slots"])).encode())
    w.globals.append(f"{hook} = None  # debug_print, format {digest.hexdigest()[:12]}; "
                     "set by the loader")
    w.emit("with numba.objmode():")
    w.emit(f"    {hook}({', '.join(w.name(v) for v in eqn.inputs)})")
    return True


calls.register("debug_print", debug_print_rule)
