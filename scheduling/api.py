"""The scheduling endpoints of the JSON API (mounted by clinic/api.py)."""

from ninja import Router

router = Router(tags=["scheduling"])
