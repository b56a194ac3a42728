"""`shopseg privacy exports DOMAIN [--json] [--id N]` shows a shop's exports, only its own."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.commands import privacy as privacy_commands
from plugin.runtime import build_runtime
from tests.integration.test_privacy_data_request import request_export
from tests.integration.test_privacy_store import OTTO, ZELDA, build_store


@pytest.fixture
def run(session, settings, monkeypatch):
    # the test database is built from the models, not migrated: skip the migration check
    monkeypatch.setattr(privacy_commands, "load_runtime", lambda **_: build_runtime(settings))

    def invoke(*args: str):
        session.commit()  # end the test's transaction: SQLite lets one writer in at a time
        return CliRunner().invoke(main, ["privacy", "exports", *args])

    return invoke


def test_lists_the_shops_exports_newest_first(session, settings, run) -> None:
    a, _ = build_store(session)
    export = request_export(session, settings, a, ZELDA)

    result = run(a.domain)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[0] == str(export.id)
    assert ZELDA.platform_id in lines[1] and "9999" in lines[1]
    assert {line.split()[0] for line in lines[1:]} == {
        str(e.id) for e in (export, a.exports["zelda"], a.exports["otto"])
    }


def test_json_listing_has_string_ids_and_no_other_shop(session, settings, run) -> None:
    a, b = build_store(session)
    export = request_export(session, settings, a, ZELDA)

    result = run(a.domain, "--json")

    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {e["id"] for e in listed} == {str(x.id) for x in (export, *a.exports.values())}
    assert {e["customer_id"] for e in listed} == {ZELDA.platform_id, OTTO.platform_id}
    assert not {str(x.id) for x in b.exports.values()} & {e["id"] for e in listed}


def test_prints_one_export_document(session, settings, run) -> None:
    a, _ = build_store(session)
    export = request_export(session, settings, a, ZELDA)

    result = run(a.domain, "--id", str(export.id))

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == export.data


def test_another_shops_export_is_not_found(session, settings, run) -> None:
    a, b = build_store(session)

    result = run(a.domain, "--id", str(b.exports["zelda"].id))

    assert result.exit_code != 0
    assert "no export" in result.output
    assert ZELDA.email not in result.output


def test_an_unknown_shop_is_an_error(session, run) -> None:
    build_store(session)

    result = run("nowhere.myshopify.com")

    assert result.exit_code != 0
    assert "unknown shop: nowhere.myshopify.com" in result.output


def test_a_shop_without_exports_says_so(session, settings, run) -> None:
    from plugin.shops.models import Shop

    session.add(Shop(domain="empty.myshopify.com"))
    session.commit()

    result = run("empty.myshopify.com")

    assert (result.exit_code, result.output.strip()) == (0, "No exports.")
