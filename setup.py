"""The one compiled part of tracejit: the C fast path of a jitted call.

Everything else is in pyproject.toml. The extension is optional: where it cannot be
built (no C compiler), tracejit uses the same fast path in pure Python
(`tracejit.fastcall.PyDispatch`), about 1 µs slower per call.
"""

import numpy
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "tracejit._dispatch", ["tracejit/_dispatch.c"],
    include_dirs=[numpy.get_include()], optional=True,
)])
