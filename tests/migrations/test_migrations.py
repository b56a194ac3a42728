"""Migrations build the whole schema on an empty database and match the models exactly."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from plugin.db import Base, make_engine
from plugin.errors import UnmigratedDatabase
from plugin.migrate import alembic_config, ensure_migrated, upgrade_head
from tests.migrations.conftest import insert_shop


def test_upgrade_head_then_alembic_check_finds_no_drift(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with pytest.raises(UnmigratedDatabase, match="shopseg migrate"):
            ensure_migrated(engine)
        upgrade_head(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        ensure_migrated(engine)
        # `alembic check` raises when autogenerate would emit any operation.
        command.check(alembic_config(empty_database_url))
    finally:
        engine.dispose()


def test_0011_copies_each_stored_default_address_as_the_first_address(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    config = alembic_config(empty_database_url)
    try:
        command.upgrade(config, "0010_predictions")
        with engine.begin() as connection:
            insert_shop(connection)
            for cid, country, province, city in [
                (1, "us", "CA", "Los Angeles"),
                (2, "PL", None, "Łódź"),
                (3, None, None, None),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO customers (id, shop_id, platform_id, country_code, "
                        "province_code, city, orders_count, total_spent_minor, "
                        "abandoned_checkouts_count, spent_365d_minor, orders_365d, created_at, "
                        "updated_at) VALUES (:id, 1, :pid, :country, :province, :city, 0, 0, 0, "
                        "0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": cid, "pid": str(cid), "country": country, "province": province,
                     "city": city},
                )  # fmt: skip
        command.upgrade(config, "0011_customer_addresses")
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT customer_id, country_code, region_key, city_key "
                    "FROM customer_addresses ORDER BY customer_id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "US", "US-CA", "us-ca-losangeles"),
            (2, "PL", None, "pl-lodz"),  # keyed as today's code does (revision 0017)
        ]
    finally:
        engine.dispose()


def test_0017_rewrites_city_keys_as_city_codes_and_back(empty_database_url: str) -> None:
    """Keys stored before 0017 kept accents and punctuation (`pl-ma-kraków`): after it,
    Shopify's ASCII code finds them; the downgrade gives back the old keys."""
    engine = make_engine(empty_database_url)
    config = alembic_config(empty_database_url)
    old = {
        1: ("PL", "MA", "Kraków", "pl-ma-kraków"),
        2: ("US", "NC", "Winston-Salem", "us-nc-winston-salem"),
        3: ("US", "CA", "Los Angeles", "us-ca-losangeles"),
    }
    try:
        command.upgrade(config, "0016_staged_sms_consent")
        with engine.begin() as connection:
            insert_shop(connection)
            connection.execute(text("INSERT INTO customers (id, shop_id, platform_id, "
                                    "orders_count, total_spent_minor, abandoned_checkouts_count, "
                                    "spent_365d_minor, orders_365d, created_at, updated_at) "
                                    "VALUES (1, 1, '1', 0, 0, 0, 0, 0, CURRENT_TIMESTAMP, "
                                    "CURRENT_TIMESTAMP)"))  # fmt: skip
            for aid, (country, province, city, key) in old.items():
                connection.execute(
                    text("INSERT INTO customer_addresses (id, shop_id, customer_id, "
                         "country_code, province_code, city, city_key) VALUES (:id, 1, 1, "
                         ":country, :province, :city, :key)"),
                    {"id": aid, "country": country, "province": province, "city": city,
                     "key": key},
                )  # fmt: skip

        def keys() -> list[str]:
            with engine.connect() as connection:
                query = text("SELECT city_key FROM customer_addresses ORDER BY id")
                return list(connection.scalars(query))

        command.upgrade(config, "0017_city_codes")
        assert keys() == ["pl-ma-krakow", "us-nc-winstonsalem", "us-ca-losangeles"]
        command.downgrade(config, "0016_staged_sms_consent")
        assert keys() == [key for *_, key in old.values()]
    finally:
        engine.dispose()


def test_0012_rewrites_saved_rfm_group_queries_to_rfm_segment(empty_database_url: str) -> None:
    """Every saved query that said `rfm_group` meant this app's group: it says `rfm_segment`
    after the upgrade (a quoted 'rfm_group' is a value and stays), and the downgrade undoes it."""
    from sqlalchemy import insert, select

    from plugin.segments.models import Segment
    from plugin.shops.models import Shop

    before = {
        "rfm_group = 'CHAMPIONS'": "rfm_segment = 'CHAMPIONS'",
        "rfm_group IN ('AT_RISK', 'DORMANT') AND customer_tags CONTAINS 'rfm_group'": (
            "rfm_segment IN ('AT_RISK', 'DORMANT') AND customer_tags CONTAINS 'rfm_group'"
        ),
        "number_of_orders >= 3": "number_of_orders >= 3",
    }
    cfg = alembic_config(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        command.upgrade(cfg, "0010_predictions")
        with engine.begin() as conn:
            shop_id = conn.execute(
                insert(Shop.__table__).values(domain="mig.myshopify.com").returning(Shop.id)
            ).scalar_one()
            for bit, query in enumerate(before):
                values = {"shop_id": shop_id, "name": query, "slug": f"s{bit}", "bit": bit}
                conn.execute(insert(Segment.__table__).values(**values, query=query))

        def stored() -> list[str]:
            with engine.connect() as conn:
                return list(conn.scalars(select(Segment.query).order_by(Segment.bit)))

        command.upgrade(cfg, "0012_product_category")
        assert stored() == list(before.values())
        command.downgrade(cfg, "0010_predictions")
        assert stored() == list(before)
    finally:
        engine.dispose()


def test_0021_keeps_every_mask_as_word_zero_and_every_membership(
    empty_database_url: str,
) -> None:
    """Masks stored in one BIGINT before 0021 become word 0 unchanged (slot b is still bit b),
    stays are not touched; the downgrade gives the single mask back."""
    engine = make_engine(empty_database_url)
    config = alembic_config(empty_database_url)
    masks = {1: 1 | 1 << 62, 2: 0, 3: 1 << 62}
    try:
        command.upgrade(config, "0020_store_credit")
        with engine.begin() as connection:
            insert_shop(connection)
            for bit in (0, 62):
                connection.execute(
                    text("INSERT INTO segments (id, shop_id, name, slug, query, kind, enabled, "
                         "bit, rule_version, created_at, updated_at) VALUES (:id, 1, :name, "
                         ":name, 'number_of_orders >= 1', 'custom', true, :bit, 1, "
                         "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": 10 + bit, "name": f"s{bit}", "bit": bit},
                )  # fmt: skip
            for cid, mask in masks.items():
                connection.execute(text("INSERT INTO customers (id, shop_id, platform_id, "
                                        "orders_count, total_spent_minor, "
                                        "abandoned_checkouts_count, spent_365d_minor, "
                                        "orders_365d, created_at, updated_at) VALUES (:id, 1, "
                                        ":id, 0, 0, 0, 0, 0, CURRENT_TIMESTAMP, "
                                        "CURRENT_TIMESTAMP)"), {"id": cid})  # fmt: skip
                connection.execute(
                    text("INSERT INTO segment_state (shop_id, customer_id, mask, version, "
                         "evaluated_at) VALUES (1, :id, :mask, 3, CURRENT_TIMESTAMP)"),
                    {"id": cid, "mask": mask},
                )  # fmt: skip
                for bit in (0, 62):
                    if mask >> bit & 1:
                        connection.execute(
                            text("INSERT INTO segment_memberships (shop_id, segment_id, "
                                 "customer_id, entered_at, entered_reason) VALUES (1, :seg, "
                                 ":id, CURRENT_TIMESTAMP, 'realtime')"),
                            {"seg": 10 + bit, "id": cid},
                        )  # fmt: skip

        def stays() -> list[tuple[int, int]]:
            with engine.connect() as connection:
                query = text(
                    "SELECT segment_id, customer_id FROM segment_memberships"
                    " WHERE exited_at IS NULL ORDER BY segment_id, customer_id"
                )
                return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]

        before = stays()
        command.upgrade(config, "0021_segment_state_words")
        with engine.connect() as connection:
            query = text("SELECT customer_id, word, mask, version FROM segment_state "
                         "ORDER BY customer_id")  # fmt: skip
            rows = [tuple(row) for row in connection.execute(query)]
        assert rows == [(cid, 0, mask, 3) for cid, mask in masks.items()]
        assert stays() == before == [(10, 1), (72, 1), (72, 3)]

        with engine.begin() as connection:  # a second word, which the downgrade drops
            connection.execute(text("INSERT INTO segment_state (shop_id, customer_id, word, "
                                    "mask, version, evaluated_at) VALUES (1, 1, 1, 5, 1, "
                                    "CURRENT_TIMESTAMP)"))  # fmt: skip
        command.downgrade(config, "0020_store_credit")
        with engine.connect() as connection:
            query = text("SELECT customer_id, mask FROM segment_state ORDER BY customer_id")
            assert [tuple(row) for row in connection.execute(query)] == list(masks.items())
    finally:
        engine.dispose()
