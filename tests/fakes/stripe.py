"""A fake of the parts of Stripe's API the clinic uses, for the real `stripe` client
(through the STRIPE_API_BASE_URL setting): Checkout Sessions, PaymentIntents, their
charges, refunds and disputes. It keeps what it made in memory, so a test can play
the patient (pay, let a checkout expire, dispute a charge), play staff in Stripe's
dashboard (refund), build the webhook events Stripe would send, and check what the
client sent (form bodies and Idempotency-Key headers). Charges carry no metadata,
as real ones made by Checkout often do not.

Like Stripe, a POST repeated with the same Idempotency-Key gets the first answer.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .server import FakeServer, Recorded, Reply

SECRET_KEY = "sk_test_fake_clinic"
WEBHOOK_SECRET = "whsec_fake_clinic"
API_VERSION = "2025-06-30.basil"
CHECKOUT_HOST = "https://checkout.stripe.test"

SESSION = re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)$")
EXPIRE = re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)/expire$")
PAYMENT_INTENT = re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)$")
# The lists the clinic reads, of one payment intent's objects (?payment_intent=pi_...).
LISTS = ("/v1/charges", "/v1/refunds", "/v1/disputes")


def error(status: int, type_: str, message: str, code: str = "") -> Reply:
    """An error as Stripe's API answers it."""
    body: dict[str, Any] = {"type": type_, "message": message}
    if code:
        body["code"] = code
    return Reply(status, {"error": body})


OUTAGE = error(500, "api_error", "Something went wrong on Stripe's end.")
RATE_LIMITED = error(429, "invalid_request_error", "Too many requests.", "rate_limit")
BAD_KEY = error(401, "invalid_request_error", "Invalid API Key provided: sk_test_***")


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's nested form encoding (`line_items[0][price_data][unit_amount]=8000`)
    back into dicts and lists; values stay strings, as sent."""
    tree: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(tree)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


class FakeStripe(FakeServer):
    def __init__(self) -> None:
        super().__init__(respond=self._answer)
        self._numbers = itertools.count(1)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self._replies_by_key: dict[str, Reply] = {}

    # --- What the client sent ------------------------------------------------------

    def sent(self, method: str, path: str) -> list[Recorded]:
        """The requests to one endpoint (path without the query), in order."""
        return [
            request
            for request in self.requests
            if request.method == method and urlsplit(request.path).path == path
        ]

    @property
    def checkout_creates(self) -> list[Recorded]:
        return self.sent("POST", "/v1/checkout/sessions")

    @property
    def refund_creates(self) -> list[Recorded]:
        return self.sent("POST", "/v1/refunds")

    def expire_calls(self, session_id: str) -> list[Recorded]:
        return self.sent("POST", f"/v1/checkout/sessions/{session_id}/expire")

    # --- The patient and Stripe's own clock ----------------------------------------

    def complete(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The patient finishes the checkout: paid by card, or (paid=False) by a
        delayed method such as a bank debit, paid later by `pay_later`."""
        with self._lock:
            session = self.sessions[session_id]
            intent = self._new_payment_intent(session, succeeded=paid)
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                payment_intent=intent["id"],
                url=None,
            )
            return _public(session)

    def pay_later(self, session_id: str) -> dict[str, Any]:
        """The delayed payment of a completed checkout goes through."""
        with self._lock:
            session = self.sessions[session_id]
            session["payment_status"] = "paid"
            self.payment_intents[session["payment_intent"]]["status"] = "succeeded"
            return _public(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        """The checkout runs out of time unpaid."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="expired", url=None)
            return _public(session)

    def refund(self, payment_intent_id: str, amount: int) -> dict[str, Any]:
        """A refund made in Stripe's dashboard (not through the API client)."""
        with self._lock:
            reply = self._create_refund(
                {"payment_intent": payment_intent_id, "amount": str(amount)}
            )
        assert reply.status == 200, reply.payload
        return reply.payload

    def dispute(
        self,
        payment_intent_id: str,
        *,
        status: str = "needs_response",
        reason: str = "fraudulent",
        amount: int | None = None,
    ) -> dict[str, Any]:
        """The cardholder disputes the charge of a payment intent (all of it unless
        `amount` says otherwise); Stripe takes the money back while it is open."""
        with self._lock:
            intent = self.payment_intents[payment_intent_id]
            dispute = {
                "id": f"dp_{self._next():024d}",
                "object": "dispute",
                "amount": intent["amount"] if amount is None else amount,
                "currency": intent["currency"],
                "charge": intent["latest_charge"],
                "payment_intent": payment_intent_id,
                "status": status,
                "reason": reason,
                "metadata": {},
                "is_charge_refundable": False,
                "created": int(time.time()),
                "livemode": False,
            }
            self.disputes[dispute["id"]] = dispute
            return copy.deepcopy(dispute)

    def update_dispute(self, dispute_id: str, *, status: str) -> dict[str, Any]:
        """The dispute moves on (under_review) or closes (won, lost)."""
        with self._lock:
            self.disputes[dispute_id]["status"] = status
            return copy.deepcopy(self.disputes[dispute_id])

    def session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return _public(self.sessions[session_id])

    def charge(self, payment_intent_id: str, *, with_refunds: bool = True) -> dict[str, Any]:
        """The charge of a payment intent, as in a `charge.refunded` event. Newer API
        versions leave out the `refunds` list (with_refunds=False)."""
        with self._lock:
            return self._charge(payment_intent_id, with_refunds=with_refunds)

    def _charge(self, payment_intent_id: str, *, with_refunds: bool) -> dict[str, Any]:
        intent = self.payment_intents[payment_intent_id]
        refunds = [
            copy.deepcopy(refund)
            for refund in self.refunds.values()
            if refund["payment_intent"] == payment_intent_id
        ]
        charge = {
            "id": intent["latest_charge"],
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": sum(refund["amount"] for refund in refunds),
            "currency": intent["currency"],
            "payment_intent": payment_intent_id,
            "metadata": {},
            "paid": True,
            "refunded": sum(refund["amount"] for refund in refunds) >= intent["amount"],
            "disputed": any(
                dispute["payment_intent"] == payment_intent_id for dispute in self.disputes.values()
            ),
        }
        if with_refunds:
            charge["refunds"] = {"object": "list", "data": refunds, "has_more": False}
        return charge

    def event(self, type_: str, data_object: dict[str, Any], *, event_id: str = "") -> dict:
        """A webhook event as Stripe sends it (a snapshot of `data_object`)."""
        return {
            "id": event_id or f"evt_{self._next()}",
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
            "data": {"object": copy.deepcopy(data_object)},
        }

    # --- The API ---------------------------------------------------------------------

    def _answer(self, request: Recorded) -> Reply:
        key = request.headers.get("idempotency-key", "")
        if request.method == "POST" and key:
            with self._lock:
                if key in self._replies_by_key:
                    return self._replies_by_key[key]
        reply = self._route(request)
        if request.method == "POST" and key and reply.status < 500:
            with self._lock:
                self._replies_by_key[key] = reply
        return reply

    def _route(self, request: Recorded) -> Reply:
        path = urlsplit(request.path).path
        with self._lock:
            if request.method == "POST" and path == "/v1/checkout/sessions":
                return self._create_session(decode_form(request.body))
            if request.method == "POST" and path == "/v1/refunds":
                return self._create_refund(decode_form(request.body))
            if request.method == "GET" and (match := SESSION.match(path)):
                return self._found(self.sessions, match["id"], "checkout.session")
            if request.method == "GET" and (match := PAYMENT_INTENT.match(path)):
                return self._found(self.payment_intents, match["id"], "payment_intent")
            if request.method == "GET" and path in LISTS:
                return self._list(path, request.query.get("payment_intent", ""))
            if request.method == "POST" and (match := EXPIRE.match(path)):
                return self._expire_session(match["id"])
        return error(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    def _create_session(self, form: dict[str, Any]) -> Reply:
        items = form.get("line_items", [])
        if not items or "success_url" not in form:
            return error(400, "invalid_request_error", "Missing required param: line_items.")
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        session_id = f"cs_test_{self._next():024d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode", "payment"),
            "url": f"{CHECKOUT_HOST}/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": amount,
            "amount_total": amount,
            "currency": items[0]["price_data"]["currency"],
            "metadata": form.get("metadata", {}),
            "client_reference_id": form.get("client_reference_id"),
            "payment_intent": None,
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "_payment_intent_metadata": form.get("payment_intent_data", {}).get("metadata", {}),
        }
        self.sessions[session_id] = session
        return Reply(200, _public(session))

    def _expire_session(self, session_id: str) -> Reply:
        session = self.sessions.get(session_id)
        if session is None:
            return _missing("checkout.session", session_id)
        if session["status"] != "open":
            return error(
                400,
                "invalid_request_error",
                'Only Checkout Sessions with a status in ["open"] can be expired.',
                "checkout_session_not_open",
            )
        session.update(status="expired", url=None)
        return Reply(200, _public(session))

    def _create_refund(self, form: dict[str, Any]) -> Reply:
        intent = self.payment_intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _missing("payment_intent", form.get("payment_intent", ""))
        refunded = sum(
            refund["amount"]
            for refund in self.refunds.values()
            if refund["payment_intent"] == intent["id"]
        )
        amount = int(form.get("amount", intent["amount"] - refunded))
        if amount > intent["amount"] - refunded:
            return error(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge.",
                "amount_too_large",
            )
        refund = {
            "id": f"re_{self._next():024d}",
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "metadata": form.get("metadata", {}),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return Reply(200, copy.deepcopy(refund))

    def _list(self, path: str, payment_intent_id: str) -> Reply:
        """One payment intent's charges (without their refunds, as newer API versions
        answer), refunds or disputes, on one page."""
        if path == "/v1/charges":
            intent = self.payment_intents.get(payment_intent_id)
            paid = intent is not None and intent["status"] == "succeeded"
            data = [self._charge(payment_intent_id, with_refunds=False)] if paid else []
        else:
            objects = self.refunds if path == "/v1/refunds" else self.disputes
            data = [
                copy.deepcopy(obj)
                for obj in objects.values()
                if obj["payment_intent"] == payment_intent_id
            ]
        return Reply(200, {"object": "list", "url": path, "has_more": False, "data": data})

    def _found(self, objects: dict[str, dict], object_id: str, kind: str) -> Reply:
        if object_id not in objects:
            return _missing(kind, object_id)
        return Reply(200, _public(objects[object_id]))

    def _new_payment_intent(self, session: dict[str, Any], *, succeeded: bool) -> dict:
        number = self._next()
        intent = {
            "id": f"pi_{number:024d}",
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if succeeded else 0,
            "currency": session["currency"],
            "metadata": copy.deepcopy(session["_payment_intent_metadata"]),
            "status": "succeeded" if succeeded else "processing",
            "latest_charge": f"ch_{number:024d}",
            "last_payment_error": None,
        }
        self.payment_intents[intent["id"]] = intent
        return intent

    def _next(self) -> int:
        return next(self._numbers)


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it (without the fake's own bookkeeping)."""
    return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}


def _missing(kind: str, object_id: str) -> Reply:
    return error(404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing")
