"""Triggers page: each trigger's switch and settings, edited through the same validation as
`shopseg triggers set` (errors shown at their fields), the outbound webhook's write-only
secret, what each trigger did (fired, skipped and why, converted), whether a Flow workflow
uses it, and the Flow templates to start from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import admin_url, navigate_to, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.errors import NotFoundError
from plugin.manifest import FlowTemplate, flow_templates
from plugin.platforms.shopify.flow import flow_editor_url
from plugin.triggers import flow_usage
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import GENERAL, TRIGGERS, flow_trigger
from plugin.triggers.stats import CONVERSION_DAYS, trigger_counts

LISTS = ("steps", "webhook_personal_fields")


def form_value(value: Any) -> str:
    """A stored setting as its form field shows it (what `triggers set` would accept)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FlowView:
    """A trigger's place in Shopify Flow: does a workflow use it, and where to start one."""

    title: str  # the trigger's name in Flow (its extension's, not translated)
    workflow: bool | None  # as Flow's lifecycle callback last said; None: not reported yet
    templates: list[tuple[FlowTemplate, str]]  # each with its link into Flow


def flow_views(db: Any, shop_id: int, shop_domain: str) -> dict[str, FlowView]:
    known = flow_usage.usage(db, shop_id)
    return {
        name: FlowView(
            flow_trigger(name).name,
            flow_usage.reported(known, flow_trigger(name)),
            [(t, flow_editor_url(shop_domain, t)) for t in flow_templates() if t.trigger == name],
        )
        for name in TRIGGERS
    }


def _pairs(name: str) -> dict[str, str]:
    """The submitted settings of `name`: only the keys its form carries."""
    form, pairs = request.form, {}
    for key in trigger_settings.DEFAULTS[name]:
        if key == "enabled" and "enabled" in form:
            pairs[key] = form.getlist(key)[-1]  # a hidden "false" precedes the checkbox
        elif key == "webhook_personal_fields" and "webhook_personal_fields_sent" in form:
            pairs[key] = ",".join(form.getlist(key)) or "none"
        elif key in form:
            pairs[key] = form[key].strip()
    return pairs


def _changed(db: Any, shop_id: int, name: str, pairs: dict[str, str]) -> dict[str, str]:
    """Only what differs from the effective settings (defaults stay defaults)."""
    current = trigger_settings.load(db, shop_id, name)
    return {
        key: raw
        for key, raw in pairs.items()
        if trigger_settings.parse_setting(name, key, raw) != current[key]
    }


def _page(status: int = 200, **extra: Any) -> Response:
    viewer = current_viewer()
    shop_id = viewer.shop_id
    with runtime().sessions() as db:
        values = {n: trigger_settings.load(db, shop_id, n) for n in trigger_settings.NAMES}
        has_secret = trigger_settings.has_secret(db, shop_id)
        counts = trigger_counts(db, shop_id)
        flow = flow_views(db, shop_id, viewer.domain)
    context = {"errors": {}, "submitted": {}, "new_secret": None, "saved": None} | extra
    return render_page(
        "admin_ui/triggers.html",
        status=status,
        values=values,
        counts=counts,
        flow=flow,
        has_secret=has_secret,
        personal_fields=trigger_settings.PERSONAL_FIELDS,
        conversion_days=CONVERSION_DAYS,
        form_value=form_value,
        **context,
    )


@blueprint.get("/admin/triggers")
@page_view
def triggers() -> Response:
    saved = request.args.get("saved")
    return _page(saved=saved if saved in trigger_settings.NAMES else None)


@blueprint.post("/admin/triggers/<name>")
@page_view
def save_trigger(name: str) -> Response:
    if name not in trigger_settings.NAMES:
        raise NotFoundError(f"no trigger {name!r}")
    pairs = _pairs(name)
    errors = trigger_settings.setting_errors(name, pairs)
    if errors:
        return _page(422, errors={name: errors}, submitted={name: pairs})
    rt, shop_id = runtime(), current_viewer().shop_id
    with rt.sessions.begin() as db:
        changed = _changed(db, shop_id, name, pairs)
        edit = (
            trigger_settings.apply_edit(db, shop_id, name, changed, rt.settings.secret_key)
            if changed
            else None
        )
    if edit is not None and edit.new_secret:  # shown once, never put in a URL
        return _page(new_secret=edit.new_secret, saved=name)
    return navigate_to(admin_url("admin_ui.pages.triggers", saved=name) + f"#trigger-{name}")


@blueprint.post("/admin/triggers/general/secret")
@page_view
def rotate_secret() -> Response:
    """A new outbound webhook signing secret, shown once."""
    rt, shop_id = runtime(), current_viewer().shop_id
    with rt.sessions.begin() as db:
        pairs = {"webhook_secret": "rotate"}
        edit = trigger_settings.apply_edit(db, shop_id, GENERAL, pairs, rt.settings.secret_key)
    return _page(new_secret=edit.new_secret, saved=GENERAL)
