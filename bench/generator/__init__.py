"""A realistic clinic, generated: years of appointments for load tests and benchmarks.

`generate(doctors=20, years=5)` fills an empty database; `manage.py
generate_load_data`, bench/measure.py (`--generate`, the CI's small benchmark) and
tests/test_load_data.py call it. load.py runs the steps, one module for each kind
of thing they make.
"""

from __future__ import annotations

from bench.generator.load import NotEmpty, generate

__all__ = ["NotEmpty", "generate"]
