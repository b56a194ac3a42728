"""The README documents every setting and CI runs the README's test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    source = (ROOT / "plugin" / "settings.py").read_text()
    names = set(re.findall(r'get\("((?:SHOPSEG|SHOPIFY)_[A-Z_]+)"', source))
    assert names, "settings.py reads no variables: the pattern is stale"
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"README lacks: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Test it", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert block.strip() in (ROOT / ".ci" / "run").read_text()
