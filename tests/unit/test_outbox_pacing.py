"""The pacer waits for a shop's API points from the last throttle status, with a fake clock."""

from __future__ import annotations

import pytest

from plugin.outbox.pacing import Pacer, PacingWait
from plugin.platforms.shopify.client import QueryCost
from plugin.platforms.shopify.documents import (
    CUSTOMER_TAGS_ADD,
    CUSTOMER_TAGS_SYNC,
    PRODUCTS_BY_IDS,
)
from plugin.platforms.shopify.registry import QUERY_GUESS


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def cost(available: float, requested: int = 10) -> QueryCost:
    return QueryCost(requested, requested, maximum=100.0, available=available, restore_rate=50.0)


def test_an_unknown_shop_is_called_at_once() -> None:
    clock = Clock()
    Pacer(clock=clock, sleep=clock.sleep).before("a", "CustomerTagsAdd")
    assert clock.slept == []


def test_it_sleeps_until_the_bucket_refills_enough() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after("a", "CustomerTagsSync", cost(5.0, requested=20))
    pacer.before("a", "CustomerTagsSync")  # 20 needed, 5 there, 50 a second
    assert clock.slept == [pytest.approx(0.3)]
    pacer.before("a", "CustomerTagsSync")  # the first call's points were booked
    assert clock.slept[-1] == pytest.approx(0.4)


def test_time_refills_the_estimate_and_shops_are_separate() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after("a", "CustomerTagsAdd", cost(0.0))
    clock.now += 1.0  # 50 points back
    pacer.before("a", "CustomerTagsAdd")
    pacer.before("b", "CustomerTagsAdd")
    assert clock.slept == []


def test_a_wait_beyond_the_maximum_puts_the_call_off() -> None:
    clock = Clock()
    pacer = Pacer(max_wait=1.0, clock=clock, sleep=clock.sleep)
    pacer.after("a", "Big", cost(0.0, requested=100))
    with pytest.raises(PacingWait) as wait:
        pacer.before("a", "Big")
    assert wait.value.seconds == pytest.approx(2.0)
    assert clock.slept == []


def test_a_first_call_books_its_guess_until_the_shop_reports_the_cost() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.after("a", "CustomerTagsAdd", cost(15.0))
    pacer.before("a", "CustomerTagsSync", guess=CUSTOMER_TAGS_SYNC.first_call_cost)
    assert clock.slept == [pytest.approx(0.1)]  # 20 booked, not 10: 5 more points to wait for


@pytest.mark.parametrize(
    ("document", "expected"),
    [(CUSTOMER_TAGS_SYNC, 20.0), (CUSTOMER_TAGS_ADD, 10.0), (PRODUCTS_BY_IDS, QUERY_GUESS)],
)
def test_a_mutation_is_guessed_at_ten_points_per_field(document, expected) -> None:
    assert document.first_call_cost == expected
