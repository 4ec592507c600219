"""What a run prints: the SPEC 8 JSON document, and for a person or cron the run's actions
(the table from arflow.tables, or plain lines), its inbox and its summary line; preview."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from arflow.errors import RowError
from arflow.holds.listing import dropped_lines, event_lines, hold_part
from arflow.plaintext import one_line
from arflow.planner.plan_types import Plan, PlannedAction, Skip
from arflow.reading import SourceRead, group_errors, unused_columns
from arflow.secrets import redact
from arflow.tables import amounts_text, print_actions, recipients_text


def action_dict(a: PlannedAction) -> dict:
    found: dict[str, Any] = {
        "date": a.date.isoformat(),
        "workflow": a.workflow,
        "step": a.step,
        "action": a.kind,
        "customer_id": a.customer_id,
        "invoices": a.invoices,
        "to": [redact(t) for t in a.to],
        "template": a.template,
        "subject": redact(a.subject) if a.subject else a.subject,
        "status": a.status,
    }
    if a.text is not None:  # a status's value, a task's title, a note, as rendered
        found["text"] = redact(a.text)
    if a.fallback:  # issue 33: the step's role had nobody: `billing (no ap contact)`
        found["fallback"] = a.fallback
    if a.kind == "charge_fees":  # what it charges each invoice (issue 31)
        found["fees"] = [
            {
                "invoice": c.invoice,
                "kind": c.kind,
                "amount": str(c.amount),
                "currency": c.currency,
                "detail": c.detail,
            }
            for c in a.fees or []
        ]
    if a.statement is not None:  # a campaign's (SPEC 4.10): the conditions it met
        found["conditions"] = [
            {
                "metric": m.metric,
                "op": m.op,
                "value": str(m.value),
                "actual": f"{m.actual:.2f}",
                "currency": m.currency,
            }
            for m in a.statement.met
        ]
    return found


def error_dict(e: RowError) -> dict:
    """A held-back row or a message's error: a value or message may quote a web address (a
    payment link that is no address), `redact`ed as all arflow prints."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in e.as_dict().items()}


def skip_dict(s: Skip) -> dict:
    found = {
        "workflow": s.workflow,
        "step": s.step,
        "customer_id": s.customer_id,
        "invoices": s.invoices,
        "reason": s.reason,
    }
    if s.until is not None:  # contact-gap: the first day it may go
        found["until"] = s.until.isoformat()
    return found


def summary(plan: Plan, errors: list[RowError]) -> dict:
    count = lambda status: sum(1 for a in plan.actions if a.status == status)  # noqa: E731
    return {
        "invoices": plan.invoices,
        "open": plan.open,
        "actions": len(plan.actions),
        "sent": count("sent"),
        "failed": count("failed"),
        "unknown": count("unknown"),
        "skipped": len(plan.skipped),
        "errors": len(errors),
    }


def plan_document(
    plan: Plan,
    errors: list[RowError],
    dry_run: bool,
    not_due: list[str] | None = None,
    later: list[dict] | None = None,
) -> dict:
    """Exactly the document of SPEC 8: as_of, dry_run, actions, skipped, errors, summary; a
    dry run of the sample ledger (`not_due` given) says `"sample": true`, which steps no
    sample customer can be due for that day, and (`later`, `later_document`) the steps
    planned on a later day."""
    sample = {} if not_due is None else {"sample": True, "not_due": not_due}
    return {
        "as_of": plan.as_of.isoformat(),
        "dry_run": dry_run,
        **sample,
        **_plan_parts(plan, errors),
        **({} if later is None else {"later": later}),
    }


def later_document(plan: Plan, errors: list[RowError], workflows: list[str]) -> dict:
    """A later day of the sample (`arflow.sample_night`): its workflows' plan on that day."""
    return {"as_of": plan.as_of.isoformat(), "workflows": workflows, **_plan_parts(plan, errors)}


def _plan_parts(plan: Plan, errors: list[RowError]) -> dict:
    """A plan's actions, skips, errors and summary, as every plan document holds them."""
    return {
        "actions": [action_dict(a) for a in plan.actions],
        "skipped": [skip_dict(s) for s in plan.skipped],
        "errors": [error_dict(e) for e in errors],
        "summary": summary(plan, errors),
        **hold_part(plan.holds),  # issue 33: tonight's entries into credit hold and releases
    }


JSON_BATCH = 1_000  # items encoded at a time


def write_json(
    out: IO[str],
    plan: Plan,
    errors: list[RowError],
    dry_run: bool,
    not_due: list[str] | None = None,
    later: list[dict] | None = None,
) -> None:
    """The same document, compact and written piece by piece: a large plan is never held as
    one string in memory."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out.write(f'{{"as_of": {dumps(plan.as_of.isoformat())}, "dry_run": {dumps(dry_run)}')
    if not_due is not None:
        out.write(f', "sample": true, "not_due": {dumps(not_due)}')
    sections: list[tuple[str, Sequence[Any], Callable[[Any], dict]]] = [
        ("actions", plan.actions, action_dict),
        ("skipped", plan.skipped, skip_dict),
        ("errors", errors, error_dict),
    ]
    for key, items, as_dict in sections:
        out.write(f', "{key}": [')
        for n in range(0, len(items), JSON_BATCH):  # a list at a time: one call into C each
            batch = dumps([as_dict(item) for item in items[n : n + JSON_BATCH]])
            out.write((", " if n else "") + batch[1:-1])
        out.write("]")
    out.write(f', "summary": {dumps(summary(plan, errors))}')
    out.write(f', "holds": {dumps(hold_part(plan.holds)["holds"])}' if plan.holds else "")
    out.write("}\n" if later is None else f', "later": {dumps(later)}}}\n')


def write_json_list(out: IO[str], key: str, items: Iterable[dict], indent: int | None) -> None:
    """`{key: [items]}` written item by item (a report read row by row is never held whole),
    the very text `json.dumps` makes of it with this `indent`."""
    dumps = json.JSONEncoder(ensure_ascii=False, indent=indent).encode
    opening, closing = dumps({key: []}).split("[]")
    if indent is None:
        first, between, last, pad = "[", ", ", "]", ""
    else:  # each item one level deeper than the list
        pad = " " * 2 * indent
        first, between, last = "[\n", ",\n", "\n" + " " * indent + "]"
    out.write(opening)
    written = False
    for item in items:
        out.write((between if written else first) + pad + dumps(item).replace("\n", "\n" + pad))
        written = True
    out.write((last if written else "[]") + closing + "\n")


def outcome_text(
    plan: Plan, details: dict[int, str], *, dry_run: bool, baseline: bool = False
) -> str:
    """What happened to a run's actions, for its last line: `12 action(s): 2 sent, 10 failed
    (connection refused …)`, each failure's reason said once."""
    count = len(plan.actions)
    if dry_run or baseline:
        return f"{count} action(s) {'planned' if dry_run else 'marked baseline'}"
    parts = []
    for status in ("sent", "done", "failed", "unknown"):
        found = [a for a in plan.actions if a.status == status]
        if not found:
            continue
        text = f"{len(found)} {status}"
        reasons: dict[str, int] = {}
        for a in found:
            if id(a) in details:
                reasons[details[id(a)]] = reasons.get(details[id(a)], 0) + 1
        if len(reasons) == 1:
            text += f" ({next(iter(reasons))})"
        elif reasons:
            text += (
                " ("
                + "; ".join(
                    f"{n}: {why}" for why, n in sorted(reasons.items(), key=lambda r: -r[1])
                )
                + ")"
            )
        parts.append(text)
    return f"{count} action(s)" + (f": {', '.join(parts)}" if parts else "")


TAB = "\t"
PLAIN_HEADER = "# date\tcustomer\tworkflow\tstep\taction\trecipients\tinvoices\tamount\tstatus"


def print_plan(
    console: Console,
    plan: Plan,
    errors: list[RowError],
    locale: str,
    *,
    plain: bool,
    dry_run: bool,
    baseline: bool = False,
    details: dict[int, str] | None = None,
    quiet: bool = False,
    names: dict[str, str] | None = None,
    reads: Sequence[SourceRead] = (),
) -> None:
    """A table in a terminal; one tab-separated line per action under cron (no colour codes).
    `names`: customer id → the name a person knows it by; `reads`: how the sources were read
    (their empty rows are counted in the summary, their unused columns named once)."""
    verb = "would run" if dry_run else "marked as done, sending nothing," if baseline else "ran"
    # a dry run's statuses are all `planned`, unless a message could not be handed over
    with_status = not dry_run or any(a.status != "planned" for a in plan.actions)
    shown, skipped = plan.actions, plan.skipped
    if quiet:  # what needs a person, then the summary; nothing when all went well
        shown = [a for a in plan.actions if a.status in ("failed", "unknown")]
        skipped = []
        if not shown and not errors:
            return
    if plain:
        if not quiet:
            _line(console, PLAIN_HEADER)
        for a in shown:
            _line(console, _plain_action(a, locale))
    elif shown:
        print_actions(
            console,
            shown,
            f"arflow {verb} {len(plan.actions)} action(s) on {plan.as_of}",
            locale,
            with_status,
            names or {},
        )
    _print_skipped(console, skipped, plain=plain)
    say = _line if plain else _said  # a pipe's lines as they are; a person's wrapped
    if not quiet:
        for line in unused_columns(reads):
            say(console, f"# {line}")
    for line in event_lines(plan.holds, dry_run) if not quiet else []:  # issue 33
        say(console, line)
    dropped = dropped_lines(plan.skipped)  # issue 33: a hold's notice given up
    for text in [g.text() for g in group_errors(errors)] + dropped:  # 3,000 bad rows: one line
        say(console, redact(f"error{TAB if plain else ': '}{text}"))
    empty = sum(r.empty for r in reads)
    say(
        console,
        f"{plan.as_of}: {plan.invoices} invoices, {plan.open} open, "
        f"{outcome_text(plan, details or {}, dry_run=dry_run, baseline=baseline)}, "
        f"{len(plan.skipped)} skipped, {len(errors) + len(dropped)} error(s)"
        + (f", {empty} empty row(s) ignored" if empty else ""),
    )


def _line(console: Console, text: str) -> None:
    # written as-is: rich would expand the tabs that make plain output easy to cut
    console.file.write(text + "\n")


def _said(console: Console, text: str) -> None:
    """A line for a person: wrapped between words at the terminal's width."""
    console.print(text, markup=False, highlight=False)


def _plain_action(a: PlannedAction, locale: str) -> str:
    """One action as a tab-separated line, in PLAIN_HEADER's columns."""
    return "\t".join(
        [
            a.date.isoformat(),
            a.customer_id,
            a.workflow,
            a.step,
            a.kind,
            recipients_text(a),
            ",".join(a.invoices),
            amounts_text(a.amounts, locale),
            a.status,
        ]
    )


def _print_skipped(console: Console, skipped: list[Skip], *, plain: bool) -> None:
    """The skipped actions with the reason of each: lines for a person, or tab-separated."""
    if skipped and not plain:
        console.print(f"Skipped ({len(skipped)}):", style="bold")
        for s in skipped:  # indented, wrapped lines included
            text = f"{s.customer_id}  {s.workflow} › {s.step}: {s.why} ({', '.join(s.invoices)})"
            console.print(Padding(Text(text), (0, 0, 0, 2)))
    elif skipped:
        for s in skipped:
            _line(
                console,
                f"skipped\t{s.customer_id}\t{s.workflow}\t{s.step}\t{s.why}\t{','.join(s.invoices)}",
            )


def inbox_effect(event: dict, dry_run: bool) -> str:
    """What one incoming message did (or, in a dry run, would do), in words."""
    would = "would be " if dry_run else ""
    if event["kind"] == "reply":
        return f"customer {would}paused to {event['pause_until']}"
    if event["kind"] == "bounce":
        return (
            f"{event['address']} {would}marked bounced"
            if event.get("notice")
            else f"{event['address']} bounced before"
        )
    return "recorded only"


INBOX_FIELDS = (
    *("kind", "customer_id", "sender", "subject", "received"),
    *("address", "pause_until", "excerpt", "action_key"),
)


def inbox_rows(events: list[dict], dry_run: bool) -> list[dict]:
    """The inbox's replies, auto-replies and bounces as data (`--format json`): each one's
    fields (None where it has none) and what it did, or would do, in the words of its line."""
    return [
        {**{k: e.get(k) for k in INBOX_FIELDS}, "effect": inbox_effect(e, dry_run)} for e in events
    ]


def print_inbox(console: Console, events: list[dict], *, plain: bool, dry_run: bool) -> None:
    """What the inbox held: one line per reply, auto-reply and bounce."""
    if plain:
        for e in events:
            console.file.write(
                "\t".join(
                    [
                        "inbox",
                        e["kind"],
                        e.get("customer_id") or "",
                        e.get("sender") or "",
                        e.get("subject") or "",
                        inbox_effect(e, dry_run),
                    ]
                )
                + "\n"
            )
        return
    if not events:
        console.print("Inbox: no new answers to arflow's emails.", markup=False)
        return
    console.print(
        f"Inbox: {len(events)} new answer(s) to arflow's emails", style="bold", markup=False
    )
    for e in events:
        console.print(
            Padding(
                Text(
                    f"{e['kind']} · {e.get('customer_id')} · "
                    f"{e.get('sender') or '—'} · {e.get('subject') or '—'} → "
                    f"{inbox_effect(e, dry_run)}"
                ),
                (0, 0, 0, 2),
            )
        )


def incoming_rows(rows: list[dict]) -> list[dict]:
    """The inbox's replies, auto-replies and bounces as lines of the history (SPEC 6.1): the
    sender in place of recipients, what arflow did in place of a reason; their text as data
    (`one_line`: a row an older arflow recorded may hold line breaks)."""
    found = []
    for r in rows:
        did = {
            "reply": f"paused to {r['pause_until']}" if r["pause_until"] else "recorded",
            "bounce": f"{r['address']} bounced",
            "auto-reply": "recorded only",
        }[r["kind"]]
        found.append(
            {
                "as_of": r["as_of"],
                "customer_id": r["customer_id"] or "",
                "workflow": "inbox",
                "step": r["kind"],
                "kind": r["kind"],
                "state": "received",
                "reason": did,
                "error": None,
                "recipients": [one_line(r["sender"])] if r["sender"] else [],
                "invoices": [],
                "key": one_line(r["message_id"]),
                "keys": [],  # no action key: nothing arflow did
                "updated_at": r["created_at"],
                "subject": one_line(r["subject"]),
                "description": one_line(r["excerpt"]) or None,
            }
        )
    return found


# --- preview ----------------------------------------------------------------------------------
def print_preview(console: Console, plan: Plan, composed: list) -> str | None:
    """`arflow preview`: each action of the step as its recipient gets it; returns the HTML
    part of the first email that has one (for --html)."""
    page = None
    for n, item in enumerate(composed, 1):
        action, message = item.action, item.message
        title = f"{action.kind} {n} of {len(composed)} · {action.workflow} › {action.step}"
        console.rule(title, align="left", style="dim")
        if message is not None:
            who = redact(", ".join(message.to))  # a webhook's address
            if message.cc:
                who += f"   Cc: {', '.join(message.cc)}"
            if message.bcc:
                who += f"   Bcc: {', '.join(message.bcc)}"
            console.print(f"To: {who}", markup=False)
            if message.subject is not None:
                console.print(f"Subject: {message.subject}", markup=False, style="bold")
            console.print()
            console.print(message.text if message.kind == "email" else message.body, markup=False)
            for attachment in message.attachments:
                console.print(
                    f"[attached: {attachment.filename}, {len(attachment.data):,} bytes]",
                    markup=False,
                    style="dim",
                )
            if message.html is not None:
                console.print(
                    "[and an HTML part: --html FILE writes it]", markup=False, style="dim"
                )
                page = page if page is not None else message.html
        if message is None and item.text is not None:  # a status, task, assign, note
            detail = item.text
            if action.kind == "task":
                detail += f"  (for {item.assignee or 'nobody'}, due {action.task_due})"
            console.print(detail, markup=False)
    if not composed:
        console.print(
            "Nothing to show: every action of this step was left out (see the errors).",
            markup=False,
        )
    return page


def preview_parts(composed: list) -> list[dict]:
    """`arflow preview --format json`: each action of the step as data, every part of its
    message (what `print_preview` shows, the HTML part whole), or the text of a status, task
    or note."""
    parts = []
    for item in composed:
        action, message = item.action, item.message
        part: dict[str, Any] = {
            "kind": action.kind,
            "workflow": action.workflow,
            "step": action.step,
            "customer_id": action.customer_id,
            "date": action.date.isoformat(),
            "invoices": list(action.invoices),
        }
        if message is not None:
            part.update(
                to=[redact(a) for a in message.to],  # a webhook's address
                cc=list(message.cc),
                bcc=list(message.bcc),
                subject=message.subject,
                text=message.text,
                html=message.html,
                body=message.body,
                attachments=[
                    {"filename": a.filename, "bytes": len(a.data)} for a in message.attachments
                ],
            )
        else:
            part["text"] = item.text
            if action.kind == "task":
                part.update(assignee=item.assignee, due=action.task_due.isoformat())
        parts.append(part)
    return parts
