"""A realistic clinic, generated: years of appointments for load tests and benchmarks.

`generate(doctors=20, years=5)` fills an empty database; `manage.py
generate_load_data` and bench/measure.py call it. See load.py.
"""

from __future__ import annotations

from bench.generator.load import NotEmpty, generate

__all__ = ["NotEmpty", "generate"]
