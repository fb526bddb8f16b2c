"""Helpers of the CUDA test suites: many generated translation units as one.

Compiling each unit on its own costs a compiler start per program (0.3 s for g++, more
for nvcc); the suites merge the units of many programs into one file instead: the prelude
once, then each distinct unit's kernels with a suffix (`_u<n>`) so their names stay
apart. `PrebuiltHost` then runs programs against the merged library.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from tracejit.emit.cuda import devices
from tracejit.emit.cuda.units import HOST_SHIMS


def merged(units: list[str]) -> tuple[str, int, dict[str, str]]:
    """One source from `units`; the kernel count; each unit's kernel-name suffix."""
    head, suffixes, parts, count, seen = None, {}, [], 0, {}
    for unit in units:
        prelude, shims, kernels = unit.partition(HOST_SHIMS)
        assert shims, "a unit without the host shims"
        head = head or prelude + shims
        if kernels not in seen:
            seen[kernels] = f"_u{len(seen) + 1}"
            renamed, k = re.subn(r"(__global__ void \w+)\(", rf"\1{seen[kernels]}(", kernels)
            parts.append(renamed)
            count += k
        suffixes[unit] = seen[kernels]
    return (head or "") + "\n".join(parts), count, suffixes


class PrebuiltHost(devices.HostDevice):
    """The host device, with the kernels of many units compiled as one library; a unit
    it has not seen is compiled on its own."""

    def __init__(self, units: list[str]) -> None:
        super().__init__(opt="-O0")
        source, _, self.suffixes = merged(units)
        self.library = devices.compile_host(source, self.compiler, self.opt) if units else None

    def module(self, source: str) -> Any:
        if source in self.suffixes:
            return self.library, self.suffixes[source]
        return super().module(source), ""

    def launch(self, module: Any, name: str, blocks: int, args: list[Any]) -> None:
        library, suffix = module
        super().launch(library, name + suffix, blocks, args)


HAVE_GXX = shutil.which("g++") is not None
