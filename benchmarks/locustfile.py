"""Locust users for `python -m benchmarks.load`: each posts signed CDNOW `orders/create`
deliveries, taken in turn from one shared list, at a constant share of the target rate."""

from __future__ import annotations

import itertools
import os
import threading

from locust import HttpUser, constant_throughput, task

from benchmarks.cdnow import read_transactions, signed_deliveries

SHOP = os.environ["LOAD_SHOP"]
RATE = float(os.environ["LOAD_RATE"])
USERS = int(os.environ["LOAD_USERS"])
_DELIVERIES = signed_deliveries(
    read_transactions(int(os.environ["LOAD_ORDERS"])), SHOP, os.environ["LOAD_SECRET"]
)
_NEXT = itertools.cycle(_DELIVERIES)
_LOCK = threading.Lock()


class Shopify(HttpUser):
    """One of Shopify's delivery connections."""

    wait_time = constant_throughput(RATE / USERS)

    @task
    def deliver(self) -> None:
        with _LOCK:
            delivery = next(_NEXT)
        self.client.post(
            "/webhooks/shopify", data=delivery.body, headers=delivery.headers, name="webhook"
        )
