"""The outbound webhook carries ids only unless the merchant names personal fields (issue 9,
defect 9): `general webhook_personal_fields=email,first_name,last_name,phone`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from plugin.errors import ValidationError
from tests.support import triggers as fixtures
from tests.support.profiles import customer_payload
from tests.support.triggers import T0, Receiver, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
PERSON = {
    "email": "ada.lovelace@example.com",
    "first_name": "Adaline",
    "last_name": "Lovelacey",
    "phone": "+16135550142",
}


def fire_for_a_known_customer(
    trig: TriggerWorld, receiver: Receiver, **general: str
) -> dict[str, Any]:
    """Customer 7 with a name and phone abandons a checkout; the one webhook it fires."""
    receiver.secret = trig.set("general", webhook_url=receiver.url, **general).new_secret or ""
    trig.customer("7")
    trig.webhook("customers/create", customer_payload("7", updated_at=T0 - MIN, **PERSON), T0)
    trig.checkout("tok1", customer="7", at=T0, email=PERSON["email"])
    trig.run(T0 + 61 * MIN)
    [hook] = receiver.received
    assert hook["valid"]
    return hook


def test_by_default_the_webhook_carries_ids_only(trig: TriggerWorld, receiver: Receiver) -> None:
    hook = fire_for_a_known_customer(trig, receiver)
    body = hook["body"]
    assert body["customer"] == {
        "id": "gid://shopify/Customer/7",
        "email_marketing_state": "SUBSCRIBED",
    }
    assert "email" not in body and "email" not in body["fields"]
    assert body["fields"]["checkout_token"] == "tok1"
    for value in PERSON.values():
        assert value.encode() not in hook["raw"]


def test_opting_in_adds_exactly_the_chosen_fields(trig: TriggerWorld, receiver: Receiver) -> None:
    hook = fire_for_a_known_customer(trig, receiver, webhook_personal_fields="phone, first_name")
    body = hook["body"]
    assert body["customer"] == {
        "id": "gid://shopify/Customer/7",
        "email_marketing_state": "SUBSCRIBED",
        "first_name": "Adaline",
        "phone": "+16135550142",
    }
    assert "email" not in body
    for value in (PERSON["email"], PERSON["last_name"]):
        assert value.encode() not in hook["raw"]


def test_opting_into_every_field_includes_the_email_to_write_to(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    chosen = "email,first_name,last_name,phone"
    body = fire_for_a_known_customer(trig, receiver, webhook_personal_fields=chosen)["body"]
    assert {k: body["customer"][k] for k in PERSON} == PERSON
    assert body["email"] == PERSON["email"]


def test_opting_out_again_goes_back_to_ids_only(trig: TriggerWorld) -> None:
    trig.set("general", webhook_personal_fields="email,phone")
    assert (
        trig.set("general", webhook_personal_fields="none").values["webhook_personal_fields"] == []
    )


@pytest.mark.parametrize("bad", ["birthday", "email,address", "EMAIL;phone"])
def test_unknown_personal_fields_are_refused_by_name(trig: TriggerWorld, bad: str) -> None:
    with pytest.raises(ValidationError, match="unknown field") as refused:
        trig.set("general", webhook_personal_fields=bad)
    assert "choose from email, first_name, last_name, phone" in refused.value.detail
    assert trig.set("general").values["webhook_personal_fields"] == []
