"""One-pass segment evaluation: every rule of a shop as bitmasks per customer, diffed.

One SELECT computes each customer's mask words (a CASE per segment, summed into its bit
of its word) and returns only the customers whose masks differ from `segment_state`; only
those rows, their memberships and their events are written. A sweep runs in batches of
customer ids, each its own short transaction under one frozen clock; the real-time path
runs the same SQL scoped to the customers an event touched (`plugin.segments.evaluator_realtime`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from plugin.db import analyze, is_postgresql, lock_keys
from plugin.errors import ValidationError
from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import ABANDONED_AFTER_HOURS, setting_value
from plugin.runtime import Runtime
from plugin.segments import evaluator_language as language
from plugin.segments.context import CompileContext
from plugin.segments.dirty import dirty_ids, forget_dirty, forget_ids
from plugin.segments.evaluator_incremental import incremental_since, mark_stale, record_sweep
from plugin.segments.evaluator_membership import Change, close_vanished, write_changes
from plugin.segments.evaluator_shared import Rule, mask_words, masks_select
from plugin.segments.models import (
    INITIAL,
    SWEEP,
    THRESHOLD,
    Segment,
    SegmentState,
    combine,
    word_flag,
    word_of,
)
from plugin.shops.models import Shop, ShopSetting

BATCH_SIZE = 50_000
# Memberships written by a sweep after which their tables' statistics are refreshed.
ANALYZE_AFTER = 10_000
SEGMENT_WRITES = ("segment_state", "segment_memberships", "segment_events")
SCOPE_CHUNK = 1000  # customers an incremental sweep evaluates per statement, at most
SCOPE_PARAMETERS = 12_000
# Fields that move only when the sweep rewrites the shop's cut-off row or stored RFM scores.
THRESHOLD_FIELDS = frozenset({"rfm_segment", "rfm_r", "rfm_f", "rfm_m", "vip", "lifecycle_stage"})
QUOTED = re.compile(r"'(?:\\.|[^'\\])*'")

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    customers_changed: int = 0
    entered: int = 0
    exited: int = 0
    batches: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    incremental: bool = False
    evaluated: int = 0  # customers an incremental sweep evaluated (its stale and marked)


def reads_thresholds(query: str) -> bool:
    """Whether a rule reads a field whose value depends on the shop's RFM/VIP thresholds."""
    words = set(re.findall(r"[a-z_]+", QUOTED.sub("", query)))
    return bool(words & THRESHOLD_FIELDS)


def threshold_reason(rule: Rule) -> Rule:
    if rule.pending_reason is None and reads_thresholds(rule.query):
        return replace(rule, pending_reason=THRESHOLD)
    return rule


def shop_lock(session: Session, shop_id: int) -> None:
    """Serialise membership writes of one shop (PostgreSQL): a sweep batch and a real-time
    update never interleave, so a sweep cannot overwrite a newer real-time result."""
    lock_keys(session, f"{shop_id}:segments")


def enabled_rules(session: Session, shop_id: int) -> list[Rule]:
    stmt = (
        select(Segment.id, Segment.bit, Segment.rule_version, Segment.pending_reason, Segment.query)
        .where(Segment.shop_id == shop_id, Segment.enabled.is_(True))
        .order_by(Segment.bit)
    )
    return [Rule(*row) for row in session.execute(stmt)]


def compile_context(session: Session, shop_id: int, now: datetime, **scope: Any) -> CompileContext:
    """The shop's clock, timezone, currency and abandonment setting for one evaluation, in
    one round trip (real time pays it per event)."""
    setting = (
        select(ShopSetting.shop_id, ShopSetting.value)
        .where(ShopSetting.shop_id == shop_id, ShopSetting.key == ABANDONED_AFTER_HOURS)
        .subquery()
    )
    row = session.execute(
        select(Shop.timezone, Shop.currency, setting.c.shop_id, setting.c.value)
        .outerjoin(setting, setting.c.shop_id == Shop.id)
        .where(Shop.id == shop_id)
    ).first()
    stored = row is not None and row[2] is not None
    hours = setting_value(ABANDONED_AFTER_HOURS, row[3] if stored else None, stored=stored)
    return CompileContext(
        shop_id=shop_id,
        now=now,
        timezone=(row.timezone if row else None) or "UTC",
        currency=(row.currency if row else None) or "USD",
        abandoned_after_hours=float(hours),
        **scope,
    )


def changes_statement(
    shop_id: int,
    computed_select: Select[Any],
    words: Sequence[int],
    only: Mapping[int, int] | None = None,
) -> Select[Any]:
    """(customer id, new mask per word, stored mask per word or None) for customers whose
    masks changed, for the `words` (`mask_words`) the computed select has columns for.
    With `only` (word → the bits the select computes), stored bits outside those are not
    compared: evaluating some of the rules does not return every customer holding others.

    `OFFSET 0` keeps the planners from flattening the mask subquery into this one, which
    would compute every rule twice per customer (once for the filter, once for the row)."""
    computed = computed_select.offset(0).subquery()
    stored = {word: aliased(SegmentState, name=f"state{word}") for word in words}
    stmt = select(
        computed.c.cid,
        *(computed.c[f"mask{word}"] for word in words),
        *(state.mask.label(f"old{word}") for word, state in stored.items()),
    )
    for word, state in stored.items():
        stmt = stmt.outerjoin(
            state,
            and_(
                state.shop_id == shop_id,
                state.customer_id == computed.c.cid,
                state.word == word,
            ),
        )

    def held(word: int, mask: Any) -> Any:
        return mask if only is None else mask.op("&")(only.get(word, 0))

    first = stored[0]
    differs = [first.customer_id.is_(None), held(0, first.mask) != computed.c.mask0]
    differs += [
        held(word, func.coalesce(state.mask, 0)) != computed.c[f"mask{word}"]
        for word, state in stored.items()
        if word
    ]
    return stmt.where(or_(*differs)).order_by(computed.c.cid)


def diff_rows(
    rows: Sequence[Any],
    rules: Sequence[Rule],
    reason: str,
    *,
    keep: int = 0,
    history: Collection[int] = (),
) -> list[Change]:
    """Per customer, the bits that flipped and why. Bits in `keep` stay as stored (rules the
    real-time path leaves to the sweep). A customer never evaluated before gets `initial`
    from a sweep, and from real time when they are in `history` (nothing they did lately
    put them where they are); a rule with a pending reason (install, edit) gives its own."""
    by_bit = {rule.bit: rule for rule in rules}
    words = mask_words(rules)
    n = len(words)
    changes = []
    for row in rows:
        cid, computed_words, stored_words = row[0], row[1 : 1 + n], row[1 + n : 1 + 2 * n]
        computed = combine(zip(words, computed_words, strict=True))
        before = combine(zip(words, stored_words, strict=True))
        rows_held = frozenset(w for w, m in zip(words, stored_words, strict=True) if m is not None)
        new = 0 not in rows_held
        after = (computed & ~keep) | (before & keep)
        if not new and after == before:
            continue
        first_seen = new and (reason == SWEEP or cid in history)
        default = INITIAL if first_seen else reason
        flips = {
            bit: by_bit[bit].pending_reason or default
            for bit in by_bit
            if (before ^ after) >> bit & 1
        }
        changes.append(Change(int(cid), new, before, after, flips, rows_held))
    return changes


def apply_statement(
    session: Session,
    shop_id: int,
    rules: Sequence[Rule],
    stmt: Select[Any],
    reason: str,
    now: datetime,
    *,
    keep: int = 0,
    params: dict[str, Any] | None = None,
    history_of: Callable[[list[int]], Collection[int]] | None = None,
) -> list[Change]:
    """Run a changes statement and write the diff it finds at `now`; `history_of` names
    which of the customers evaluated for the first time are history (see `diff_rows`)."""
    rows = list(session.execute(stmt, params or {}))
    first_old = 1 + len(mask_words(rules))  # word 0's stored mask: None before any evaluation
    first_seen = [int(row[0]) for row in rows if row[first_old] is None]
    history = history_of(first_seen) if history_of and first_seen else ()
    changes = diff_rows(rows, rules, reason, keep=keep, history=history)
    write_changes(session, shop_id, changes, {r.bit: r.segment_id for r in rules}, now)
    return changes


def evaluate_batch(
    session: Session,
    shop_id: int,
    rules: Sequence[Rule],
    ctx: CompileContext,
    reason: str,
    *where: ColumnElement[bool],
    keep: int = 0,
) -> list[Change]:
    """Evaluate one slice of a shop's customers and write what changed (caller holds the
    shop lock and owns the transaction); bits in `keep` stay as stored."""
    lateral = is_postgresql(session)
    masks = masks_select(rules, ctx, *where, lateral=lateral)
    only: dict[int, int] = {}
    for rule in rules:
        only[word_of(rule.bit)] = only.get(word_of(rule.bit), 0) | word_flag(rule.bit)
    stmt = changes_statement(shop_id, masks, mask_words(rules), only)
    return apply_statement(session, shop_id, rules, stmt, reason, ctx.now, keep=keep)


def usable_rules(rules: Sequence[Rule]) -> tuple[list[Rule], int]:
    """The rules whose stored text still parses, and the bits of those that do not: a rule
    broken by a later catalogue change is skipped (its members stay as they are) instead
    of failing every evaluation of the shop, and with it every webhook."""
    usable, broken = [], 0
    for rule in rules:
        try:
            language.parsed_ast(rule.query)
        except ValidationError as exc:
            log.warning("segments.rule_unusable segment_id=%s error=%s", rule.segment_id, exc)
            broken |= rule.flag
            continue
        usable.append(rule)
    return usable, broken


def batch_bounds(session: Session, shop_id: int, batch_size: int) -> list[tuple[int, int | None]]:
    """Half-open id ranges (lo, hi] of `batch_size` customers each, the last open-ended:
    every batch_size-th id of the shop, numbered in one pass (one statement per batch
    sorted the shop's ids each time on SQLite: 2 s of a 1M sweep)."""
    numbered = (
        select(Customer.id, func.row_number().over(order_by=Customer.id).label("n"))
        .where(Customer.shop_id == shop_id)
        .subquery()
    )
    his = session.scalars(
        select(numbered.c.id).where(numbered.c.n % batch_size == 0).order_by(numbered.c.id)
    ).all()
    los = [0, *his]
    return [(lo, hi) for lo, hi in zip(los, [*his, None], strict=True)]


def settle_rules(session: Session, rules: Sequence[Rule], now: datetime) -> None:
    """Record the evaluation; a rule edited meanwhile keeps its pending reason."""
    for rule in rules:
        session.execute(
            update(Segment)
            .where(Segment.id == rule.segment_id)
            .values(last_evaluated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Segment)
            .where(Segment.id == rule.segment_id, Segment.rule_version == rule.rule_version)
            .values(pending_reason=None)
            .execution_options(synchronize_session=False)
        )


def _range(lo: int, hi: int | None) -> list[ColumnElement[bool]]:
    where = [Customer.id > lo]
    if hi is not None:
        where.append(Customer.id <= hi)
    return where


def _tally(result: SweepResult, changes: Sequence[Change]) -> None:
    result.batches += 1
    result.customers_changed += len(changes)
    for change in changes:
        for bit, why in change.flips.items():
            entered = change.after >> bit & 1
            result.entered += entered
            result.exited += 1 - entered
            result.reasons[why] = result.reasons.get(why, 0) + 1


def evaluate_shop(
    target: Runtime | Session,
    shop_id: int,
    now: datetime,
    reason: str = SWEEP,
    *,
    batch_size: int = BATCH_SIZE,
    thresholds_moved: bool = False,
    incremental: bool = False,
) -> SweepResult:
    """Evaluate every enabled segment of a shop over all its customers under one clock.

    With a runtime each batch commits on its own (short write locks); with a session
    everything happens in the caller's transaction. Customers whose mask did not change
    write nothing. When the sweep moved the RFM/VIP thresholds, changes of rules that read
    them get reason `threshold` (no trigger fires for them). With `incremental`, only the
    customers that can have changed since the last sweep are evaluated when that is exact
    (`plugin.segments.evaluator_incremental`), every customer otherwise.
    """
    result = SweepResult()
    with _unit(target) as session:
        rules, broken = usable_rules(enabled_rules(session, shop_id))
        ctx = compile_context(session, shop_id, now)
        since = incremental_since(session, shop_id, ctx, rules) if incremental else None
        if thresholds_moved:
            rules = [threshold_reason(rule) for rule in rules]
        bounds = batch_bounds(session, shop_id, batch_size)
        shop_lock(session, shop_id)
        close_vanished(session, shop_id, now)
    result.incremental = since is not None
    analyzed = False
    for lo, hi in bounds:
        with _unit(target) as session:
            shop_lock(session, shop_id)
            batch_ctx = replace(ctx, id_range=(lo, hi))
            if since is not None:
                # Only marked here: the marked customers of every batch are evaluated
                # together below, so the statements' fixed costs are paid per chunk of
                # marked customers rather than per batch of the shop.
                mark_stale(session, shop_id, rules, batch_ctx, since, *_range(lo, hi))
                continue
            changes = evaluate_batch(
                session, shop_id, rules, batch_ctx, reason, *_range(lo, hi), keep=broken
            )
            forget_dirty(session, shop_id, lo, hi)
            _tally(result, changes)
        if not analyzed and result.entered + result.exited >= ANALYZE_AFTER:
            # A first sweep fills the membership tables from nothing: PostgreSQL would
            # plan the later batches (and the reactivation lookup) on the empty tables'
            # statistics, reading every open stay of a segment per 1,000 customers.
            with _unit(target) as session:
                analyze(session, SEGMENT_WRITES)
            analyzed = True
    if since is not None:
        _evaluate_marked(target, shop_id, rules, ctx, reason, broken, result)
    with _unit(target) as session:
        settle_rules(session, rules, now)
        record_sweep(session, shop_id, ctx)
    log.info(
        "segments.evaluated shop_id=%s incremental=%s changed=%d entered=%d exited=%d",
        shop_id,
        result.incremental,
        result.customers_changed,
        result.entered,
        result.exited,
    )
    return result


def _evaluate_marked(
    target: Runtime | Session,
    shop_id: int,
    rules: Sequence[Rule],
    ctx: CompileContext,
    reason: str,
    broken: int,
    result: SweepResult,
) -> None:
    """Evaluate the marked customers a chunk at a time, scoped like real time (their ids
    pushed into every subquery), each chunk forgotten in the transaction that evaluated
    it; customers marked meanwhile stay for the next sweep."""
    with _unit(target) as session:
        ids = dirty_ids(session, shop_id)
    result.evaluated = len(ids)
    # Every subquery repeats the ids: keep a statement's parameters well under the
    # databases' limits (SQLite 32,766) whatever the number of rules.
    size = max(20, min(SCOPE_CHUNK, SCOPE_PARAMETERS // (len(rules) + 1)))
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        with _unit(target) as session:
            shop_lock(session, shop_id)
            scoped = replace(ctx, customer_ids=chunk)
            changes = evaluate_batch(
                session, shop_id, rules, scoped, reason, Customer.id.in_(chunk), keep=broken
            )
            forget_ids(session, shop_id, chunk)
            _tally(result, changes)


@contextmanager
def _unit(target: Runtime | Session) -> Iterator[Session]:
    """A transaction per step with a runtime; the caller's session (flushed) otherwise."""
    if isinstance(target, Session):
        yield target
        target.flush()
        return
    with target.sessions.begin() as session:
        yield session
