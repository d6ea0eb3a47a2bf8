"""What the booking steps remember between pages, kept in the visitor's session
(never in a URL): what they are booking (a time, or a waitlist wish), who they said
they are, whether their phone is verified, and what they booked.

Everything is checked again when used: the session only says what the visitor
chose, never that it is still allowed."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest

from scheduling.models import Service

from ..services import VERIFIED_FOR, Visitor

KEY = "online"
BOOK = "book"
WAIT = "wait"


def _data(request: HttpRequest) -> dict[str, Any]:
    data = request.session.get(KEY)
    return data if isinstance(data, dict) else {}


def _update(request: HttpRequest, **changes: Any) -> None:
    data = _data(request)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    request.session[KEY] = data


# --- What they are booking ----------------------------------------------------


def choose_time(
    request: HttpRequest,
    *,
    service: Service,
    doctor_pk: int,
    starts_at: datetime,
    any_doctor: bool,
) -> None:
    """A time to book; `any_doctor` when the visitor did not choose the doctor (the
    nearest times after "just taken" are then any doctor's too)."""
    _update(
        request,
        intent={
            "purpose": BOOK,
            "service": service.code,
            "doctor": doctor_pk,
            "starts_at": starts_at.isoformat(),
            "any_doctor": any_doctor,
        },
    )


def choose_wish(request: HttpRequest, *, service: Service, wish: dict[str, Any]) -> None:
    _update(
        request,
        intent={
            "purpose": WAIT,
            "service": service.code,
            "doctor": wish["doctor"].pk if wish["doctor"] else None,
            "date_from": wish["date_from"].isoformat(),
            "date_to": wish["date_to"].isoformat(),
            "times_of_day": wish["times_of_day"],
        },
    )


def intent(request: HttpRequest, service: Service) -> dict[str, Any] | None:
    """What the visitor is booking with `service`, with dates and times parsed; None
    when nothing (or something for another service) was chosen."""
    current = _data(request).get("intent")
    if not isinstance(current, dict) or current.get("service") != service.code:
        return None
    try:
        parsed = dict(current)
        if current["purpose"] == BOOK:
            parsed["starts_at"] = datetime.fromisoformat(current["starts_at"])
        elif current["purpose"] == WAIT:
            parsed["date_from"] = date.fromisoformat(current["date_from"])
            parsed["date_to"] = date.fromisoformat(current["date_to"])
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return parsed


# --- Who they are -------------------------------------------------------------


def remember_visitor(request: HttpRequest, *, service: Service, details: dict[str, Any]) -> None:
    _update(
        request,
        visitor={
            "service": service.code,
            "given_name": details["given_name"],
            "family_name": details["family_name"],
            "date_of_birth": details["date_of_birth"].isoformat(),
            "phone": details["phone"],
            "email": details.get("email", ""),
        },
    )


def remember_robot(request: HttpRequest, *, service: Service, phone: str) -> None:
    """A filled honeypot: the next page looks the same, and nothing is ever done."""
    _update(request, visitor={"service": service.code, "robot": True, "phone": phone})


def is_robot(request: HttpRequest) -> bool:
    visitor = _data(request).get("visitor")
    return isinstance(visitor, dict) and bool(visitor.get("robot"))


def visitor(request: HttpRequest, service: Service, *, language: str) -> Visitor | None:
    kept = _data(request).get("visitor")
    if not isinstance(kept, dict) or kept.get("service") != service.code or kept.get("robot"):
        return None
    try:
        return Visitor(
            given_name=kept["given_name"],
            family_name=kept["family_name"],
            date_of_birth=date.fromisoformat(kept["date_of_birth"]),
            phone=kept["phone"],
            email=kept.get("email", ""),
            language=language,
        )
    except (KeyError, TypeError, ValueError):
        return None


def details(request: HttpRequest, service: Service) -> dict[str, str]:
    """What the visitor typed before (to fill the form again when they come back to
    change the phone), or nothing."""
    kept = _data(request).get("visitor")
    if not isinstance(kept, dict) or kept.get("service") != service.code or kept.get("robot"):
        return {}
    names = ["given_name", "family_name", "date_of_birth", "phone", "email"]
    return {name: kept[name] for name in names if isinstance(kept.get(name), str)}


def phone(request: HttpRequest) -> str:
    """The phone the visitor gave (E.164), or ""."""
    kept = _data(request).get("visitor")
    return kept.get("phone", "") if isinstance(kept, dict) else ""


def has_visitor(request: HttpRequest, service: Service) -> bool:
    kept = _data(request).get("visitor")
    return isinstance(kept, dict) and kept.get("service") == service.code


# --- A verified phone ---------------------------------------------------------


def mark_verified(request: HttpRequest, phone: str) -> None:
    _update(request, verified={"phone": phone, "until": time.time() + VERIFIED_FOR.total_seconds()})


def is_verified(request: HttpRequest, phone: str) -> bool:
    verified = _data(request).get("verified")
    return (
        isinstance(verified, dict)
        and bool(phone)
        and verified.get("phone") == phone
        and isinstance(verified.get("until"), (int, float))
        and verified["until"] > time.time()
    )


# --- What they booked ---------------------------------------------------------


def finish_booking(request: HttpRequest, *, appointment_pk: int) -> None:
    """The booking is made: forget what led to it (the phone stays verified)."""
    _update(request, intent=None, visitor=None, booked=appointment_pk)


def finish_joining(request: HttpRequest, *, entry_pk: int) -> None:
    _update(request, intent=None, visitor=None, joined=entry_pk)


def booked(request: HttpRequest) -> int | None:
    value = _data(request).get("booked")
    return value if isinstance(value, int) else None


def joined(request: HttpRequest) -> int | None:
    value = _data(request).get("joined")
    return value if isinstance(value, int) else None
