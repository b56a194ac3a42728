"""Numeric settings: defaults, and a clear error naming the variable for a bad value."""

from __future__ import annotations

import pytest

from plugin.errors import ConfigurationError
from plugin.settings import Settings


def test_defaults_and_given_values() -> None:
    assert Settings.from_env({}, dotenv=False).worker_batch == 200
    given = Settings.from_env({"SHOPSEG_WORKER_BATCH": "500", "SHOPSEG_RECONCILE_HOURS": "0"})
    assert (given.worker_batch, given.reconcile_hours) == (500, 0)
    assert Settings.from_env({"SHOPSEG_WORKER_BATCH": "0"}, dotenv=False).worker_batch == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHOPSEG_WORKER_BATCH", "lots"),
        ("SHOPSEG_INBOX_MAX_ATTEMPTS", "-3"),
        ("SHOPSEG_WORKER_POLL_SECONDS", "soon"),
        ("SHOPSEG_STATISTICS_HOURS", "1.5"),
    ],
)
def test_a_bad_number_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be .* not '{value}'"):
        Settings.from_env({name: value}, dotenv=False)
