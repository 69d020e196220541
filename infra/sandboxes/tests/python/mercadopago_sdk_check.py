"""Drives the local Mercado Pago sandbox with the official Python SDK (PyPI `mercadopago`).

Usage: python mercadopago_sdk_check.py <sandbox base URL>

Environment: MP_ACCESS_TOKEN (a TEST-…-<collector_id> token) and MP_WEBHOOK_SECRET (the secret
the sandbox signs that collector's webhooks with). Exits non-zero on the first failed check.
Run by `infra/sandboxes/tests/mercadopago.rs`.
"""
import hashlib
import hmac
import json
import os
import sys
import time
import threading
import urllib.request
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import mercadopago
from mercadopago.config.config import Config


def check(condition, message, payload=None):
    if not condition:
        detail = "" if payload is None else "\n" + json.dumps(payload, indent=2, default=str)
        raise SystemExit(f"FAILED: {message}{detail}")
    print(f"ok: {message}")


def sandbox_post(base_url, path, body):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def start_receiver():
    """A local notification endpoint recording (path, headers) of every POST."""
    inbox = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server naming)
            self.rfile.read(int(self.headers.get("content-length") or 0))
            inbox.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return inbox, server


def main():
    base_url = sys.argv[1].rstrip("/")
    token = os.environ.get("MP_ACCESS_TOKEN", "TEST-1111-010203-abc-123456789")
    secret = os.environ.get("MP_WEBHOOK_SECRET", "sandbox-webhook-secret")
    collector_id = int(token.rsplit("-", 1)[1])
    # The documented way to point the SDK elsewhere: its name-mangled class attribute.
    Config._Config__api_base_url = base_url
    warnings.simplefilter("ignore", DeprecationWarning)
    sdk = mercadopago.SDK(token)

    # Preference: trailing-slash-free path, id "<collector>-<uuid>", echo and init points.
    reference = "sdk-" + uuid.uuid4().hex[:8]
    created = sdk.preference().create({
        "items": [{"id": "sku", "title": "Yerba", "quantity": 3, "unit_price": 150.5, "currency_id": "ARS"}],
        "external_reference": reference,
        "back_urls": {"success": "https://shop.example/ok"},
        "auto_return": "approved",
        "metadata": {"cartId": "c1"},
    })
    check(created["status"] == 201, "preference created (201)", created)
    pref = created["response"]
    check(pref["id"].startswith(f"{collector_id}-"), "preference id is <collector_id>-<uuid>", pref)
    check("pref_id=" + pref["id"] in pref["init_point"], "init_point names the preference", pref)
    check(pref["metadata"] == {"cart_id": "c1"}, "metadata keys come back snake_case", pref)
    fetched = sdk.preference().get(pref["id"])
    check(fetched["status"] == 200 and fetched["response"]["external_reference"] == reference,
          "preference readable by id", fetched)

    bad = sdk.preference().create({"items": [{"title": "x", "quantity": 1, "unit_price": 1}],
                                   "auto_return": "approved"})
    check(bad["status"] == 400 and "back_url.success" in bad["response"]["message"],
          "auto_return without back_urls.success is a 400", bad)

    # Payment (APRO) with a card token made through the SDK.
    card = sdk.card_token().create({
        "card_number": "5031755734530604", "expiration_month": 11, "expiration_year": 2030,
        "security_code": "123", "cardholder": {"name": "APRO", "identification": {"type": "DNI", "number": "12345678"}},
    })
    check(card["status"] == 201 and card["response"]["id"], "card token created", card)
    created = sdk.payment().create({
        "transaction_amount": 451.5, "token": card["response"]["id"], "description": "Yerba x3",
        "installments": 1, "payment_method_id": "master", "payer": {"email": "buyer@example.com"},
        "external_reference": reference,
    })
    check(created["status"] == 201, "payment created (201)", created)
    payment = created["response"]
    check(payment["status"] == "approved" and payment["status_detail"] == "accredited", "APRO approves", payment)
    check(isinstance(payment["id"], int), "payment id is an integer", payment)
    check(payment["transaction_amount"] == 451.5, "amount is a JSON number with decimals", payment)
    check(payment["collector_id"] == collector_id, "collector_id is the token's user id", payment)

    rejected = sdk.payment().create({
        "transaction_amount": 10, "token": "tok-FUND", "installments": 1, "payment_method_id": "visa",
        "payer": {"email": "buyer@example.com"},
    })
    check(rejected["status"] == 201 and rejected["response"]["status"] == "rejected",
          "a rejection is a 201 with status rejected", rejected)

    got = sdk.payment().get(payment["id"])
    check(got["status"] == 200 and got["response"]["id"] == payment["id"], "payment readable by id", got)
    missing = sdk.payment().get(1)
    check(missing["status"] == 404 and missing["response"]["cause"][0]["code"] == 2000,
          "unknown payment is 404 code 2000", missing)
    try:
        missing.raise_for_status()
        check(False, "raise_for_status raises on 404")
    except mercadopago.MPNotFoundError as error:
        check(error.message == "Payment not found", "SDK maps the error body to MPNotFoundError")

    found = sdk.payment().search({"external_reference": reference, "sort": "date_created", "criteria": "desc"})
    check(found["status"] == 200, "search answers 200", found)
    check(found["response"]["paging"]["total"] == 1 and found["response"]["results"][0]["id"] == payment["id"],
          "search by external_reference finds the payment", found)
    listed = list(sdk.payment().search_auto_paging_iter({"external_reference": reference}, limit=1))
    check(len(listed) == 1, "auto-paging iterator walks the results", listed)

    partial = sdk.refund().create(payment["id"], {"amount": 100.25})
    check(partial["status"] == 201 and partial["response"]["amount"] == 100.25, "partial refund created", partial)
    after = sdk.payment().get(payment["id"])["response"]
    check(after["status"] == "approved" and after["status_detail"] == "partially_refunded",
          "partial refund leaves approved/partially_refunded", after)
    check(after["transaction_amount_refunded"] == 100.25, "transaction_amount_refunded grows", after)
    over = sdk.refund().create(payment["id"], {"amount": 1000})
    check(over["status"] == 400 and over["response"]["cause"][0]["code"] == 2017, "over-refund is 400 code 2017", over)
    total = sdk.refund().create(payment["id"])
    check(total["status"] == 201 and total["response"]["amount"] == 351.25, "total refund takes the rest", total)
    after = sdk.payment().get(payment["id"])["response"]
    check(after["status"] == "refunded" and after["status_detail"] == "refunded", "fully refunded", after)
    refunds = sdk.refund().list_all(payment["id"])
    check(refunds["status"] == 200 and len(refunds["response"]) == 2, "both refunds listed", refunds)

    # Checkout Pro: pay the preference through the control API, read its merchant order.
    paid = sandbox_post(base_url, f"/_sandbox/preferences/{pref['id']}/pay", {"holder_name": "APRO"})
    order_id = paid["payment"]["order"]["id"]
    order = sdk.merchant_order().get(order_id)
    check(order["status"] == 200 and order["response"]["status"] == "closed", "merchant order closed", order)
    check(order["response"]["paid_amount"] == 451.5, "merchant order paid_amount", order)

    # The SDK's validator accepts the signatures of webhooks the sandbox really delivers.
    try:
        from mercadopago.webhook import WebhookSignatureValidator
    except ImportError:
        WebhookSignatureValidator = None
    if WebhookSignatureValidator is None:
        print("skip: this SDK version has no WebhookSignatureValidator")
    else:
        inbox, server = start_receiver()
        try:
            hooked = sdk.payment().create({
                "transaction_amount": 5, "token": "tok-APRO", "installments": 1, "payment_method_id": "visa",
                "payer": {"email": "buyer@example.com"},
                "notification_url": f"http://127.0.0.1:{server.server_port}/hook?source_news=webhooks",
            })["response"]
            deadline = time.time() + 10
            while time.time() < deadline and not any("data.id=" in path for path, _ in inbox):
                time.sleep(0.05)
        finally:
            server.shutdown()
        webhooks = [(path, headers) for path, headers in inbox if "data.id=" in path]
        check(len(webhooks) >= 1, "the sandbox delivered a webhook", inbox)
        path, headers = webhooks[0]
        query = parse_qs(urlsplit(path).query)
        check(query["data.id"] == [str(hooked["id"])] and query["source_news"] == ["webhooks"],
              "webhook query keeps source_news and adds data.id", path)
        WebhookSignatureValidator.validate(headers.get("x-signature"), headers.get("x-request-id"),
                                           query["data.id"][0], secret, tolerance_seconds=300)
        check(True, "WebhookSignatureValidator accepts the sandbox's webhook signature")
        try:
            WebhookSignatureValidator.validate(headers.get("x-signature"), headers.get("x-request-id"),
                                               query["data.id"][0], secret + "x")
            check(False, "a wrong secret is rejected")
        except Exception:  # pylint: disable=broad-except
            check(True, "a wrong secret is rejected")

    print("ALL OK")


if __name__ == "__main__":
    main()
