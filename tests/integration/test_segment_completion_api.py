"""Autocomplete over HTTP on both databases: the shop's own tags, languages, email domains
and products, most common first, never another shop's; LIKE wildcards typed are literal."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.events import Metafield
from plugin.profiles.facts_models import CustomerMetafield
from plugin.profiles.metafields import metafield_rows
from plugin.profiles.models import Customer, CustomerTag, Product
from plugin.runtime import Runtime
from tests.support.admin import SeededShop, people, seed_shop, sign_in


def tag(runtime: Runtime, shop: SeededShop, tags: dict[str, int]) -> None:
    """Give the first n customers of `shop` each tag (n from `tags`)."""
    with runtime.sessions.begin() as session:
        ids = session.scalars(
            select(Customer.id).where(Customer.shop_id == shop.shop_id).order_by(Customer.id)
        ).all()
        session.add_all(
            CustomerTag(shop_id=shop.shop_id, customer_id=cid, tag=name, tag_cf=name.lower())
            for name, n in tags.items()
            for cid in ids[:n]
        )


def ask(client: FlaskClient, query: str, cursor: int | None = None) -> dict:
    params = {"query": query} | ({} if cursor is None else {"cursor": str(cursor)})
    response = client.get("/api/segments/complete", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_tags_come_from_this_shop_most_common_first(
    runtime: Runtime, admin_client: FlaskClient
) -> None:
    alpha = seed_shop(runtime, "alpha.myshopify.com", people(6))
    beta = seed_shop(runtime, "beta.myshopify.com", people(6, start=100))
    tag(runtime, alpha, {"VIP": 2, "vip_gold": 5, "wholesale": 1, "gone": 1})
    tag(runtime, beta, {"vip-beta-only": 6})
    with runtime.sessions.begin() as session:  # a removed tag is not suggested
        removed = session.scalars(select(CustomerTag).where(CustomerTag.tag == "gone")).one()
        removed.present = False
    sign_in(admin_client, runtime, alpha.shop_id)

    answer = ask(admin_client, "customer_tags CONTAINS 'v")
    assert [(s["text"], s["count"]) for s in answer["suggestions"]] == [
        ("'vip_gold'", 5),
        ("'VIP'", 2),
    ]
    assert answer["start"] == len("customer_tags CONTAINS ")
    # `_` is a LIKE wildcard: typed, it means itself.
    assert [
        s["text"] for s in ask(admin_client, "customer_tags CONTAINS 'vip_")["suggestions"]
    ] == ["'vip_gold'"]
    everything = ask(admin_client, "customer_tags CONTAINS ")["suggestions"]
    assert {s["text"] for s in everything} == {"'vip_gold'", "'VIP'", "'wholesale'"}


def test_email_domains_languages_and_products(runtime: Runtime, admin_client: FlaskClient) -> None:
    shop = seed_shop(runtime, "alpha.myshopify.com", people(3))
    with runtime.sessions.begin() as session:
        session.add_all(
            [
                Product(shop_id=shop.shop_id, platform_id="501", title="Jazz box"),
                Product(shop_id=shop.shop_id, platform_id="502", title="Rock anthology"),
            ]
        )
    sign_in(admin_client, runtime, shop.shop_id)

    domains = ask(admin_client, "customer_email_domain = ")["suggestions"]
    assert [(s["text"], s["count"]) for s in domains] == [("'example.com'", 3)]
    by_title = ask(admin_client, "products_purchased MATCHES (id = roc")["suggestions"]
    assert [(s["text"], s["detail"]) for s in by_title] == [("502", "Rock anthology")]
    by_id = ask(admin_client, "products_purchased MATCHES (id = 50")["suggestions"]
    assert [s["text"] for s in by_id] == ["501", "502"]


def test_the_cursor_decides_what_is_completed(runtime: Runtime, admin_client: FlaskClient) -> None:
    shop = seed_shop(runtime, "alpha.myshopify.com", people(1))
    sign_in(admin_client, runtime, shop.shop_id)
    text = "number_of_or >= 2 AND amount_spent > 10"
    answer = ask(admin_client, text, cursor=len("number_of_or"))
    assert [s["text"] for s in answer["suggestions"]] == ["number_of_orders"]
    assert (answer["start"], answer["end"]) == (0, len("number_of_or"))


def test_metafield_names_are_this_shops_by_customers_having_them(
    runtime: Runtime, admin_client: FlaskClient
) -> None:
    alpha = seed_shop(runtime, "alpha.myshopify.com", people(3))
    beta = seed_shop(runtime, "beta.myshopify.com", people(1, start=100))
    birthday = Metafield("facts", "birth_date", "date", ("1990-05-03",))
    interests = Metafield("custom", "interests", "text", ("tea", "coffee", "mugs"))
    with runtime.sessions.begin() as session:
        ids = session.scalars(
            select(Customer.id).where(Customer.shop_id == alpha.shop_id).order_by(Customer.id)
        ).all()
        rows = metafield_rows(alpha.shop_id, ids[0], [birthday, interests])
        rows += metafield_rows(alpha.shop_id, ids[1], [birthday])
        other = session.scalar(select(Customer.id).where(Customer.shop_id == beta.shop_id))
        rows += metafield_rows(
            beta.shop_id, other, [Metafield("facts", "beta_only", "text", ("x",))]
        )
        session.add_all(CustomerMetafield(**row) for row in rows)
    sign_in(admin_client, runtime, alpha.shop_id)

    found = ask(admin_client, "metafields.")["suggestions"]
    assert [(s["text"], s["count"], s["detail"]) for s in found] == [
        ("metafields.facts.birth_date", 2, "date"),
        ("metafields.custom.interests", 1, "text"),  # three items, one customer
    ]
    assert [s["text"] for s in ask(admin_client, "metafields.c")["suggestions"]] == [
        "metafields.custom.interests"
    ]


def test_bad_input_is_a_clear_400(runtime: Runtime, admin_client: FlaskClient) -> None:
    shop = seed_shop(runtime, "alpha.myshopify.com", people(1))
    sign_in(admin_client, runtime, shop.shop_id)
    response = admin_client.get("/api/segments/complete", query_string={"cursor": "-1"})
    assert response.status_code == 400
    assert {"error", "detail"} <= set(response.get_json())
