"""Every call to Stripe, through the official `stripe` library's StripeClient.
Calls that create objects carry idempotency keys, so a retried request never makes
a second checkout or refund."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from .exceptions import ProviderUnavailable
from .models import Payment
from .money import to_minor_units

if TYPE_CHECKING:  # The client's type for its base addresses (not exported).
    from stripe._base_address import BaseAddresses

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    base_addresses: BaseAddresses = (
        {"api": settings.STRIPE_API_BASE_URL} if settings.STRIPE_API_BASE_URL else {}
    )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        # Well under the web server's 30 s: the library's own default is 80 s.
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def create_checkout_session(
    payment: Payment, *, success_url: str, cancel_url: str
) -> stripe.checkout.Session:
    """A Checkout Session for `payment.amount`, keyed by the payment."""
    invoice = payment.invoice
    metadata = {"invoice_id": str(invoice.pk), "payment_id": str(payment.pk)}
    params = {
        "mode": "payment",
        "client_reference_id": str(payment.pk),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": invoice.currency.lower(),
                    "unit_amount": to_minor_units(payment.amount, invoice.currency),
                    "product_data": {
                        "name": f"{settings.CLINIC_NAME} invoice {invoice.display_number}"
                    },
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return _call(
        "create a checkout",
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": payment.idempotency_key},
    )


def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    return _call("look up a checkout", client().v1.checkout.sessions.retrieve, session_id)


def expire_checkout_session(session_id: str) -> stripe.checkout.Session:
    return _call("close a checkout", client().v1.checkout.sessions.expire, session_id)


def retrieve_payment_intent(intent_id: str) -> dict[str, Any]:
    intent = _call("look up a payment", client().v1.payment_intents.retrieve, intent_id)
    return intent.to_dict()


def charges_of(intent_id: str) -> list[dict[str, Any]]:
    """The charges of a payment intent (usually one), without their refunds."""
    return _listed("look up a payment's charges", client().v1.charges.list, intent_id)


def refunds_of(intent_id: str) -> list[dict[str, Any]]:
    return _listed("look up a payment's refunds", client().v1.refunds.list, intent_id)


def disputes_of(intent_id: str) -> list[dict[str, Any]]:
    return _listed("look up a payment's disputes", client().v1.disputes.list, intent_id)


def _listed(what: str, method: Callable[..., Any], intent_id: str) -> list[dict[str, Any]]:
    """Every object of a list, page after page, as plain dicts."""

    def every_page() -> list[dict[str, Any]]:
        first = method({"payment_intent": intent_id, "limit": 100})
        return [obj.to_dict() for obj in first.auto_paging_iter()]

    return _call(what, every_page)


def create_refund(payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
    refund = _call(
        "refund",
        client().v1.refunds.create,
        {
            "payment_intent": payment.payment_intent_id,
            "amount": to_minor_units(amount, payment.invoice.currency),
            "metadata": {"payment_id": str(payment.pk)},
        },
        {"idempotency_key": idempotency_key},
    )
    return refund.id


def _call(what: str, method: Callable[..., Any], *args: Any) -> Any:
    try:
        return method(*args)
    except stripe.StripeError as error:
        logger.warning("Stripe refused to %s: %s", what, error.user_message or error)
        message = error.user_message or "Stripe could not be reached"
        raise ProviderUnavailable(f"Could not {what} with Stripe: {message}. Try again.") from error
