"""The admin pages benchmark measures every GET route of the URL map on a small store."""

from __future__ import annotations

from pathlib import Path

from benchmarks.admin_pages import SEGMENTS, run_backend, write_report
from plugin.app import create_app
from plugin.runtime import Runtime


def test_every_admin_get_route_is_timed_and_reported(
    backend: str, runtime: Runtime, tmp_path: Path
) -> None:
    result = run_backend(backend, 200, repeats=2, commit="test")
    assert result.segments >= SEGMENTS and result.unmeasured == []
    gets = {
        rule.rule
        for rule in create_app(runtime).url_map.iter_rules()
        if rule.rule.startswith(("/admin", "/api"))
        and "GET" in (rule.methods or ())
        and not rule.endpoint.endswith(("static", "login", "bounce", "download_export"))
    }
    timed = {t.path for t in result.timings if t.method == "GET"}
    assert len(timed) == len(gets)  # one timing per route, each answered below 400
    assert all(len(t.ms) == 2 and t.status < 400 for t in result.timings)
    out = tmp_path / "benchmarks.md"
    write_report([result], out, "python -m benchmarks.admin_pages --customers 200")
    assert f"<!-- benchmarks.admin_pages {backend} -->" in out.read_text()
