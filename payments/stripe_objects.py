"""Stripe's objects (as dicts, from an event or an API answer), read: which payment
one is about, and the refunds and disputes it reports, recorded through the
provider services. The webhook events and the reconciliation share these.

Stripe sends this site the events of its whole account, another site's included
(a staging copy, another clinic), and may report a refund or a dispute before the
payment it belongs to is known here. A payment is found by the ids saved on it (its
checkout, its payment intent), else by the metadata the clinic gave its checkout and
payment intent, when everything else agrees. Otherwise the object is either:

- NOT_OURS: it names another site's payment, or it is a checkout or payment intent
  without the clinic's metadata (the clinic gives every one of them its metadata);
- UNKNOWN: a charge, refund or dispute (these carry no metadata) whose payment
  intent no payment here knows yet. Its event waits for that payment intent.
"""

from __future__ import annotations

import enum
from typing import Any

from .models import Payment, Refund
from .money import from_minor_units, to_minor_units
from .provider_services import (
    record_provider_dispute,
    record_provider_refund,
    record_provider_refunded_total,
)

# A refund in these states gave nothing back (or no longer does).
NOT_REFUNDED = ("failed", "canceled")


class Unmatched(enum.Enum):
    NOT_OURS = "not ours"
    UNKNOWN = "unknown"


Match = Payment | Unmatched


def stripe_id(value: Any) -> str:
    """An object's id, whether Stripe sent the id or the expanded object (a dict, or
    the client library's object)."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(getattr(value, "id", value) or "")


# --- Which payment ------------------------------------------------------------------


def payment_of_checkout(checkout: dict[str, Any]) -> Match:
    payment = (
        Payment.objects.select_related("invoice")
        .filter(method="stripe", checkout_session_id=checkout["id"])
        .first()
    )
    # Stripe may report a checkout before its id is saved here (a very fast patient).
    return payment or _from_metadata(
        checkout, amount=checkout.get("amount_total"), checkout_id=checkout["id"]
    )


def payment_of_intent(intent: dict[str, Any]) -> Match:
    """The payment a payment intent pays. Checkout creates the intent when the patient
    pays, so its first events name the payment only in the metadata."""
    return _by_intent(intent["id"]) or _from_metadata(intent, amount=intent.get("amount"))


def payment_of_charge_object(obj: dict[str, Any], *, amount: Any) -> Match:
    """The payment of a charge, or of a refund or dispute of one: by the charge's
    payment intent. Such objects rarely carry metadata, so an intent not known here
    yet leaves the payment UNKNOWN; a charge without an intent is not a Checkout's."""
    intent_id = stripe_id(obj.get("payment_intent"))
    if payment := _by_intent(intent_id):
        return payment
    if _names_a_payment(obj):
        return _from_metadata(obj, amount=amount)
    return Unmatched.UNKNOWN if intent_id else Unmatched.NOT_OURS


def _by_intent(intent_id: str) -> Payment | None:
    if not intent_id:
        return None
    payments = Payment.objects.select_related("invoice")
    return payments.filter(method="stripe", payment_intent_id=intent_id).first()


def _names_a_payment(obj: dict[str, Any]) -> bool:
    return "payment_id" in (obj.get("metadata") or {})


def _from_metadata(obj: dict[str, Any], *, amount: Any, checkout_id: str = "") -> Match:
    """The payment the metadata names, if everything else agrees: another copy of
    the clinic on the same Stripe account (staging) numbers its payments too."""
    metadata = obj.get("metadata") or {}
    payment_id, invoice_id = str(metadata.get("payment_id", "")), str(metadata.get("invoice_id"))
    if not (payment_id.isdigit() and invoice_id.isdigit()):
        return Unmatched.NOT_OURS
    payment = (
        Payment.objects.select_related("invoice")
        .filter(pk=payment_id, invoice_id=invoice_id, method="stripe")
        .first()
    )
    if payment is None:
        return Unmatched.NOT_OURS
    if checkout_id and payment.checkout_session_id not in ("", checkout_id):
        return Unmatched.NOT_OURS
    currency = payment.invoice.currency
    if str(obj.get("currency", "")).upper() != currency:
        return Unmatched.NOT_OURS
    if amount != to_minor_units(payment.amount, currency):
        return Unmatched.NOT_OURS
    return payment


# --- What they report ---------------------------------------------------------------


def record_refunds(payment: Payment, refunds: list[dict[str, Any]]) -> list[str]:
    """Record Stripe's refunds of the payment not recorded yet; returns their ids."""
    currency = payment.invoice.currency
    # One query for the usual case: a charge lists again the refunds recorded before.
    recorded = set(
        Refund.objects.filter(
            provider_refund_id__in=[refund["id"] for refund in refunds]
        ).values_list("provider_refund_id", flat=True)
    )
    return [
        refund["id"]
        for refund in refunds
        if refund.get("status") not in NOT_REFUNDED
        and refund["id"] not in recorded
        and record_provider_refund(
            payment=payment,
            provider_refund_id=refund["id"],
            amount=from_minor_units(refund["amount"], currency),
        )
    ]


def record_charge_refunds(payment: Payment, charge: dict[str, Any]) -> list[str]:
    """The refunds a charge reports, each recorded once. Newer API versions leave the
    refunds out of the charge: then the part of `amount_refunded` not recorded yet
    is recorded as one stand-in refund. Returns the ids recorded."""
    refunds = charge.get("refunds")
    if refunds is not None:
        return record_refunds(payment, refunds.get("data", []))
    stand_in = record_provider_refunded_total(
        payment=payment, charge_id=charge["id"], refunded=int(charge["amount_refunded"])
    )
    return [stand_in] if stand_in else []


def record_dispute(payment: Payment, dispute: dict[str, Any]) -> bool:
    """Record a dispute Stripe reports, or move its status on; whether it changed."""
    return record_provider_dispute(
        payment=payment,
        provider_dispute_id=dispute["id"],
        amount=from_minor_units(dispute["amount"], payment.invoice.currency),
        status=str(dispute.get("status", "")),
        reason=str(dispute.get("reason") or ""),
    )
