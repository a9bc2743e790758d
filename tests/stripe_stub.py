"""A stand-in for api.stripe.com on loopback: Checkout sessions and refunds, shaped like Stripe's.

It is a real HTTP server in a thread; the app's Stripe client reaches it through
STRIPE_API_BASE. It records every request, answers like Stripe (form-encoded requests,
JSON objects, `{"error": {...}}` bodies), replays a refund for a repeated idempotency key
as Stripe does, and fails on demand. `event()` builds a webhook body and signs it the way
Stripe does, with the stripe library.
"""

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import stripe

WEBHOOK_SECRET = "whsec_parkapp_test"
SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(cs_test_\w+)(/expire)?$")


class StripeStub:
    """Sessions and refunds in memory; `fail` names operations that answer with an error."""

    def __init__(self):
        self.sessions, self.refunds, self.refund_keys = {}, {}, {}
        self.requests = []
        self.fail = set()  # "checkout", "refund", "retrieve", "expire"
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    # -- what the tests do at "Stripe" ----------------------------------------------------

    def complete(self, session_id):
        """The driver paid on the checkout page."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=f"pi_{session_id}")
        return session

    def event(self, kind, session, secret=WEBHOOK_SECRET, timestamp=None, **changes):
        """A webhook body about `session` and its Stripe-Signature header."""
        return signed_event(kind, {**session, **changes}, secret, timestamp)

    def calls(self, method, prefix):
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    # -- answering the app ---------------------------------------------------------------

    def answer(self, method, path, form, headers):
        with self._lock:
            self.requests.append({"method": method, "path": path, "form": form, "headers": headers})
            if method == "POST" and path == "/v1/checkout/sessions":
                return self._create_session(form)
            if method == "POST" and path == "/v1/refunds":
                return self._create_refund(form, headers.get("Idempotency-Key"))
            match = SESSION_PATH.match(path)
            if match and match.group(1) in self.sessions:
                operation = "expire" if match.group(2) else "retrieve"
                if operation in self.fail or (operation == "expire" and method != "POST"):
                    return _error(500, "api_error", f"{operation} failed")
                session = self.sessions[match.group(1)]
                if operation == "expire":
                    if session["status"] != "open":
                        return _error(400, "invalid_request_error", "Session is not open.")
                    session.update(status="expired", url=None)
                return 200, session
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    def _create_session(self, form):
        if "checkout" in self.fail:
            return _error(500, "api_error", "checkout failed")
        session_id = f"cs_test_{next(self._ids)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {
                key[len("metadata[") : -1]: value
                for key, value in form.items()
                if key.startswith("metadata[")
            },
            "payment_intent": None,
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "expires_at": int(form["expires_at"]),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return 200, session

    def _create_refund(self, form, key):
        if "refund" in self.fail:
            return _error(500, "api_error", "refund failed")
        if key in self.refund_keys:
            return 200, self.refund_keys[key]  # Stripe replays an idempotent request
        refund = {
            "id": f"re_{next(self._ids)}",
            "object": "refund",
            "amount": int(form["amount"]),
            "currency": "gbp",
            "payment_intent": form["payment_intent"],
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = self.refund_keys[key] = refund
        return 200, refund


def signed_event(kind, session, secret=WEBHOOK_SECRET, timestamp=None):
    """A webhook body and its headers, signed the way Stripe signs, with the stripe library."""
    payload = json.dumps(
        {
            "id": f"evt_{session.get('id')}_{time.time_ns()}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": session},
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}


def _error(status, kind, message):
    return status, {"error": {"type": kind, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        status, body = self.server.stub.answer(self.command, self.path, form, dict(self.headers))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_stub")
        self.send_header("Stripe-Should-Retry", "false")  # failures fail at once in tests
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
