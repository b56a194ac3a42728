"""The admin's Polish catalogue: every visible string translated, the .mo compiled from it."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ROOT / "admin_ui"
CATALOGUE = ADMIN / "translations" / "pl" / "LC_MESSAGES"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ADMIN), METHODS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def polish() -> dict[str, object]:
    with (CATALOGUE / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}


def test_every_string_of_the_admin_has_a_polish_translation() -> None:
    strings, translated = extracted(), polish()
    assert len(strings) > 50
    assert strings - set(translated) == set()  # run pybabel extract + update (README there)
    empty = [k for k, v in translated.items() if not v or (isinstance(v, tuple) and not all(v))]
    assert empty == []


def test_the_compiled_catalogue_is_the_committed_po() -> None:
    with (CATALOGUE / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert (CATALOGUE / "messages.mo").read_bytes() == compiled.getvalue()
