"""docs/segment-language.md carries the catalogue's current tables."""

from __future__ import annotations

from pathlib import Path

from plugin.segments.catalogue import FIELDS, FUNCTIONS, PATTERNS
from plugin.segments.lang_docs import render
from plugin.segments.parser import parse_query

DOC = Path(__file__).resolve().parents[2] / "docs" / "segment-language.md"


def test_the_field_tables_match_the_catalogue() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, "run: python -m plugin.segments.lang_docs " + str(DOC)
    for name in [*FIELDS, *FUNCTIONS, *PATTERNS]:
        assert f"`{name}`" in text


def test_every_catalogue_example_parses_to_its_own_canonical_text() -> None:
    examples = [f.example for f in [*FIELDS.values(), *PATTERNS.values()]]
    examples += [f.example for f in FUNCTIONS.values()]
    assert all(parse_query(e).canonical == e for e in examples)
