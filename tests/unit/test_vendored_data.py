"""The data the app, simulator, tests and demo read is vendored, documented and shipped."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from plugin.data import CDNOW_DIR, CDNOW_REFERENCE_FITS, open_cdnow
from plugin.platforms.shopify.admin_schema import SCHEMA_DIR

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIR = ROOT / "tests" / "fixtures"
PACKAGE_DATA_DIRS = [SCHEMA_DIR, CDNOW_DIR]
# The project's old data directory next to the checkout; split so this file does not match.
NEXT_DOOR = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{NEXT_DOOR}|[\"']{NEXT_DOOR}[\"']")


@pytest.mark.parametrize("folder", [*PACKAGE_DATA_DIRS, FIXTURE_DIR], ids=lambda p: p.name)
def test_every_vendored_folder_says_where_its_data_came_from(folder: Path) -> None:
    note = (folder / "README.md").read_text(encoding="utf-8")
    assert "Provenance" in note and "licen" in note.lower()


def test_the_schema_ships_with_its_licence_text() -> None:
    assert "ISC License" in (SCHEMA_DIR / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", PACKAGE_DATA_DIRS, ids=lambda p: p.name)
def test_package_data_patterns_cover_every_vendored_file(folder: Path) -> None:
    """An installed wheel (the demo's case) holds what a checkout holds."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]
    package_dir = folder.parent
    package = ".".join(package_dir.relative_to(ROOT).parts)
    shipped = {p for pattern in patterns.get(package, []) for p in package_dir.glob(pattern)}
    assert set(folder.iterdir()) <= shipped


def test_cdnow_reads_from_the_gzipped_package_data() -> None:
    with open_cdnow("CDNOW_master.txt") as fh:
        lines = fh.read().splitlines()
    assert lines[0].split() == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert len(lines) - 1 == 69_659
    assert len({line.split()[0] for line in lines[1:]}) == 23_570
    with open_cdnow("CDNOW_sample.txt") as fh:
        assert sum(1 for _ in fh) == 6_919
    assert json.loads(CDNOW_REFERENCE_FITS.read_text(encoding="utf-8"))


def test_nothing_reads_a_directory_next_to_the_repository() -> None:
    sources = [
        p
        for top in ("plugin", "webhooks", "admin_ui", "tests", "benchmarks", "migrations")
        for p in (ROOT / top).rglob("*.py")
    ]
    offenders = [str(p.relative_to(ROOT)) for p in sources if OUTSIDE.search(p.read_text())]
    assert sources and offenders == []


ADMIN = ROOT / "admin_ui"
ADMIN_VENDOR = ADMIN / "static" / "vendor"


def test_the_admins_vendored_files_say_where_they_came_from_and_ship() -> None:
    note = (ADMIN_VENDOR / "README.md").read_text(encoding="utf-8")
    assert "Provenance" in note and "licen" in note.lower()
    for name in ("htmx.min.js", "polaris-tokens.css"):
        assert f"`{name}`" in note
    assert "Zero-Clause BSD" in (ADMIN_VENDOR / "htmx.LICENSE").read_text(encoding="utf-8")
    assert "Shopify" in (ADMIN_VENDOR / "polaris-tokens.LICENSE.md").read_text(encoding="utf-8")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["admin_ui"]
    shipped = {p for pattern in patterns for p in ADMIN.glob(pattern)}
    needed = [
        p
        for folder in ("static", "templates", "translations")
        for p in (ADMIN / folder).rglob("*")
        if p.is_file()
    ]
    assert needed and set(needed) <= shipped
