"""URL converters."""

from __future__ import annotations


class IdConverter:
    """A database id: Django's `int` takes any number of digits, and an id past
    PostgreSQL's bigint range would fail in the query (a 500) instead of a 404."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
