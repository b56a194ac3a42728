"""The simulated shop stays out of the app: only the command line and the demo (which runs a
simulated shop beside the app) may import it."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"
SIMULATOR = PLUGIN / "platforms" / "shopify" / "simulator"
MAY_IMPORT = {PLUGIN / "cli.py", PLUGIN / "commands", PLUGIN / "demo"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_in_plugin_but_the_cli_imports_the_simulator() -> None:
    offenders = [
        str(path.relative_to(PLUGIN))
        for path in PLUGIN.rglob("*.py")
        if SIMULATOR not in path.parents
        and not any(path == m or m in path.parents for m in MAY_IMPORT)
        and any("shopify.simulator" in name for name in imported_modules(path))
    ]
    assert offenders == []


def test_the_check_sees_an_import() -> None:
    fixtures = Path(__file__).resolve().parents[1] / "support" / "simulator.py"
    assert any("shopify.simulator" in name for name in imported_modules(fixtures))
