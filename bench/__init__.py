"""tracejit's benchmark runner: `python -m bench --help` (see bench/__main__.py)."""
