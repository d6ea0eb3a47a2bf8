"""The doctors endpoints of the JSON API (mounted by clinic/api.py)."""

from ninja import Router

router = Router(tags=["doctors"])
