"""city codes: every stored customer_cities key rewritten as a city code (letters and
digits only, accents dropped: `pl-ma-krakow`), so Shopify's ASCII city codes
(`PL-MA-Krakow`) find the addresses that spell the city with its accents

Revision ID: 0017_city_codes
Revises: 0016_staged_sms_consent
Create Date: 2026-12-16 13:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from plugin.profiles.addresses import city_key, region_key

revision: str = "0017_city_codes"
down_revision: str | None = "0016_staged_sms_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
KeyOf = Callable[[str | None, str | None, str | None], str | None]
TABLES = {"customer_addresses": ("id",), "backfill_addresses": ("run_id", "seq")}


def _spaces_removed(country: str | None, province: str | None, city: str | None) -> str | None:
    """The key before this revision: the city as written, without its spaces, casefolded."""
    name = "".join((city or "").split())
    if not country or not name:
        return None
    return f"{region_key(country, province) or country.strip().upper()}-{name}".casefold()


def _rekey(name: str, keys: tuple[str, ...], key_of: KeyOf) -> None:
    bind = op.get_bind()
    columns = ("country_code", "province_code", "city", "city_key")
    table = sa.table(name, *(sa.column(c) for c in (*keys, *columns)))
    found = bind.execute(
        sa.select(table).execution_options(yield_per=BATCH).where(table.c.city.is_not(None))
    )
    where = sa.and_(*(table.c[k] == sa.bindparam(f"b_{k}") for k in keys))
    update = table.update().where(where).values(city_key=sa.bindparam("b_city_key"))
    for batch in found.partitions():
        changed = [
            {**{f"b_{k}": getattr(r, k) for k in keys}, "b_city_key": new}
            for r in batch
            if (new := key_of(r.country_code, r.province_code, r.city)) != r.city_key
        ]
        if changed:
            bind.execute(update, changed)


def upgrade() -> None:
    for name, keys in TABLES.items():
        _rekey(name, keys, city_key)


def downgrade() -> None:
    for name, keys in TABLES.items():
        _rekey(name, keys, _spaces_removed)
