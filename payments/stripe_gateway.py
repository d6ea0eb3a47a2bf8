"""Every call to Stripe, through the official `stripe` library's StripeClient.
Calls that create objects carry idempotency keys, so a retried request never makes
a second checkout or refund."""

from __future__ import annotations

import logging
from decimal import Decimal

import stripe
from django.conf import settings

from .exceptions import ProviderUnavailable
from .models import Payment
from .money import to_minor_units

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    base_addresses = {"api": settings.STRIPE_API_BASE_URL} if settings.STRIPE_API_BASE_URL else {}
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


def _call(what: str, method, *args):
    try:
        return method(*args)
    except stripe.StripeError as error:
        logger.warning("Stripe refused to %s: %s", what, error.user_message or error)
        message = error.user_message or "Stripe could not be reached"
        raise ProviderUnavailable(f"Could not {what} with Stripe: {message}. Try again.") from error
