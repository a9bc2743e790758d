"""Stripe Checkout, the adapter: sessions, the signed webhook's events, refunds.

Only this module talks to Stripe. It uses a `StripeClient` per call (no global library
state) at `STRIPE_API_BASE`, with short timeouts and the library's own retries, which reuse
the request's idempotency key. The business rules (what a completed checkout means for a
booking) live in `payments` and `refunds`.

Provider errors: a call Stripe refuses or that cannot reach it raises ProviderUnavailable
(503) and the caller's transaction rolls back, so nothing is half done here: a checkout
that could not be opened leaves no payment, a refund that could not be made leaves the
reservation uncancelled (the driver tries again; the refund's idempotency key is derived
from the payment, so a refund Stripe made before a failure on our side is not made twice).
Only closing an abandoned checkout is best effort: it expires on its own, and a checkout
completed for a cancelled booking is refunded when its webhook arrives.
"""

import json
import time

import stripe
from flask import current_app, g

from parkapp.core.exceptions import DomainError, Invalid

PROVIDER = "stripe"
CHECKOUT_MINUTES = 30  # Stripe's shortest expiry; an abandoned checkout frees the booking soon
TIMEOUT = (5, 20)  # seconds to connect, to read
RETRIES = 2


class ProviderUnavailable(DomainError):
    """Stripe refused the call or could not be reached; nothing was changed."""

    status, code = 503, "payment_provider_unavailable"


class BadSignature(DomainError):
    """A webhook whose Stripe-Signature does not match its body and our secret."""

    status, code = 400, "bad_signature"


def configured():
    """Whether online payments go through Stripe."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def _client():
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": current_app.config["STRIPE_API_BASE"]},
        max_network_retries=RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
    )


def _call(doing, method, *args, **kwargs):
    """Call the client; any Stripe error becomes ProviderUnavailable naming what failed."""
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe failed to %s: %s", doing, exc)
        raise ProviderUnavailable(
            f"The card payment service could not {doing}; nothing was changed. "
            "Please try again in a minute."
        ) from None


def open_checkout(payment, booking, success_url, cancel_url):
    """Create the Checkout session for a pending payment; return its id and page address."""
    lot = booking.lot
    return open_checkout_for(
        payment,
        f"Parking at {lot.name}, spot {booking.spot.label}",
        f"Booking {booking.confirmation_code}, {booking.plate}",
        {"payment_id": str(payment.id), "booking_id": str(booking.id)},
        booking.user.email if booking.user is not None else None,
        (success_url, cancel_url),
    )


def open_checkout_for(payment, name, description, metadata, email, return_urls):
    """A Checkout session for one line of `payment.amount_cents`; return its id and address."""
    success_url, cancel_url = return_urls
    params = {
        "mode": "payment",
        "client_reference_id": str(payment.id),
        "metadata": metadata,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": payment.amount_cents,
                    "product_data": {"name": name, "description": description},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(time.time()) + CHECKOUT_MINUTES * 60 + 60,
    }
    if email:
        params["customer_email"] = email
    session = _call(
        "start the checkout",
        _client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": f"parkapp-checkout-{payment.receipt_number}"},
    )
    _remember_url(session.id, session.url)
    return session.id, session.url


def _remember_url(session_id, url):
    g.setdefault("checkout_urls", {})[session_id] = url


def retrieve(session_id):
    """The Checkout session as Stripe has it now, as a dict (like a webhook's)."""
    session = _call("look up the checkout", _client().v1.checkout.sessions.retrieve, session_id)
    return session.to_dict()


def checkout_url(payment):
    """Where the driver pays a pending Stripe payment, or None (looked up once per request)."""
    if payment.provider != PROVIDER or payment.provider_ref is None:
        return None
    known = g.setdefault("checkout_urls", {})
    if payment.provider_ref not in known:
        try:
            session = retrieve(payment.provider_ref)
        except ProviderUnavailable:
            return None
        known[payment.provider_ref] = session["url"] if session["status"] == "open" else None
    return known[payment.provider_ref]


def expire(session_id):
    """Close an open checkout so it can no longer be paid; False if Stripe refused."""
    try:
        _call("close the checkout", _client().v1.checkout.sessions.expire, session_id)
    except ProviderUnavailable:
        return False
    return True


def refund(payment, amount_cents, idempotency_key):
    """Refund part or all of a paid Checkout payment; return Stripe's refund id (or None)."""
    intent = retrieve(payment.provider_ref).get("payment_intent")
    if not intent:
        raise ProviderUnavailable("Stripe has no charge for this payment to refund.")
    params = {
        "payment_intent": intent if isinstance(intent, str) else intent["id"],
        "amount": amount_cents,
        "reason": "requested_by_customer",
        "metadata": {"payment_id": str(payment.id)},
    }
    try:
        created = _client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    except stripe.InvalidRequestError as exc:
        if exc.code == "charge_already_refunded":  # refunded from Stripe's dashboard
            return None
        current_app.logger.warning("Stripe refused a refund of payment %s: %s", payment.id, exc)
        raise ProviderUnavailable(
            "The card payment service refused the refund; nothing was changed."
        ) from None
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe failed to refund payment %s: %s", payment.id, exc)
        raise ProviderUnavailable(
            "The card payment service could not make the refund; nothing was changed. "
            "Please try again in a minute."
        ) from None
    return created.id


def verified_event(payload, signature):
    """The webhook's (event type, session dict) once its signature checks out.

    The signature is an HMAC of the timestamp and the raw body with STRIPE_WEBHOOK_SECRET;
    a timestamp older than the library's tolerance (5 minutes) is refused as a replay.
    BadSignature (400) when it does not check out, Invalid (422) for a body that is no event.
    """
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or None
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        raise BadSignature("The Stripe signature does not match this request.") from None
    except ValueError:
        raise Invalid("body", "The body is not a JSON event.") from None
    data = event.get("data") if isinstance(event, dict) else None
    session = data.get("object") if isinstance(data, dict) else None
    if not isinstance(session, dict) or not isinstance(event.get("type"), str):
        raise Invalid("body", "The body is not a Stripe event.")
    return event["type"], session
