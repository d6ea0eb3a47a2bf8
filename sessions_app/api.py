"""The sessions_app endpoints of the JSON API (mounted by clinic/api.py)."""

from ninja import Router

router = Router(tags=["sessions_app"])
