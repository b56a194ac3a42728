"""The database fixtures give each test an empty schema on every backend."""

from sqlalchemy import func, select

from plugin.shops.models import Shop


def test_each_test_starts_with_no_rows(session) -> None:
    assert session.scalar(select(func.count()).select_from(Shop)) == 0
    session.add(Shop(domain="a.myshopify.com"))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Shop)) == 1


def test_rows_from_the_previous_test_are_gone(session) -> None:
    assert session.scalar(select(func.count()).select_from(Shop)) == 0
