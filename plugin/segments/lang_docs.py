"""Markdown tables of the catalogue for docs/segment-language.md (a test keeps them in sync)."""

from __future__ import annotations

from plugin.segments.catalogue import (
    FIELDS,
    FUNCTIONS,
    NOT_AVAILABLE,
    NOT_AVAILABLE_PREFIXES,
    OPERATORS,
    PATTERNS,
)


def field_table() -> str:
    rows = [
        "| field | type | operators | dimension | computed by | Shopify | description | example |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in [*FIELDS.values(), *PATTERNS.values()]:
        kind = spec.type + (f" ({', '.join(spec.enum_values)})" if spec.enum_values else "")
        rows.append(
            f"| `{spec.name}` | {kind} | {', '.join(OPERATORS[spec.type])} | {spec.dimension} "
            f"| {spec.computed_by} | {'yes' if spec.shopify_alias else 'ours'} "
            f"| {spec.description} | `{spec.example}` |"
        )
    return "\n".join(rows)


def function_table() -> str:
    rows = ["| function | parameter | type | kind | description |", "|---|---|---|---|---|"]
    for spec in FUNCTIONS.values():
        for param in spec.params:
            kind = "aggregate (HAVING)" if param.aggregate else "per row"
            notes = ("ours, not Shopify's: " if param.extension else "") + param.description
            notes += " At most once." if param.once else ""
            rows.append(f"| `{spec.name}` | `{param.name}` | {param.type} | {kind} | {notes} |")
    return "\n".join(rows)


def not_available_list() -> str:
    names = [f"`{n}`" for n in NOT_AVAILABLE] + [f"`{p}*`" for p in NOT_AVAILABLE_PREFIXES]
    return ", ".join(names)


def generated_sections() -> dict[str, str]:
    """Marker name → generated Markdown, as placed between `<!-- name:start/end -->`."""
    return {
        "fields": field_table(),
        "functions": function_table(),
        "not-available": not_available_list(),
    }


def render(document: str) -> str:
    """The document with every generated section replaced by the catalogue's current text."""
    for name, body in generated_sections().items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, found, rest = document.partition(start)
        if not found:
            continue
        _, _, tail = rest.partition(end)
        document = f"{head}{start}\n{body}\n{end}{tail}"
    return document


if __name__ == "__main__":  # python -m plugin.segments.lang_docs docs/segment-language.md
    import sys
    from pathlib import Path

    path = Path(sys.argv[1])
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
