"""Golden tests: the same answers on every engine (see golden_runner.py)."""
