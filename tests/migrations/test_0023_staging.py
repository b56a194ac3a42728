"""0023: staged rows keep their shop id without a foreign key to shops; the rows staged
before the upgrade stay, and the downgrade puts the keys back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from plugin.db import make_engine
from plugin.migrate import alembic_config
from tests.migrations.conftest import insert_shop

STAGING = ("backfill_customers", "backfill_orders", "backfill_order_lines", "backfill_tags")


def shop_keys(engine, table: str) -> list[str]:
    engine.dispose()  # a pooled SQLite connection answers the pragma from its old schema
    return [
        key["name"]
        for key in inspect(engine).get_foreign_keys(table)
        if key["referred_table"] == "shops"
    ]


def test_0023_drops_the_staged_rows_keys_to_shops_and_keeps_the_rows(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    config = alembic_config(empty_database_url)
    try:
        command.upgrade(config, "0022_segment_dirty")
        with engine.begin() as connection:
            insert_shop(connection)
            connection.execute(
                text(
                    "INSERT INTO backfill_order_lines (shop_id, run_id, seq, order_platform_id, "
                    "platform_id, quantity, price_minor, discount_minor) "
                    "VALUES (1, 7, 3, '10', '11', 2, 500, 0)"
                )
            )
        assert all(shop_keys(engine, table) for table in STAGING)

        command.upgrade(config, "0023_staging_without_shop_fk")
        assert not any(shop_keys(engine, table) for table in STAGING)
        with engine.connect() as connection:
            staged = connection.execute(
                text("SELECT shop_id, run_id, seq, price_minor FROM backfill_order_lines")
            ).all()
        assert [tuple(row) for row in staged] == [(1, 7, 3, 500)]

        command.downgrade(config, "0022_segment_dirty")
        keys = shop_keys(engine, "backfill_order_lines")
        assert keys == ["fk_backfill_order_lines_shop_id_shops"]
    finally:
        engine.dispose()
