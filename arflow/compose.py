"""Filling a plan's messages in: contexts, rendering, header safety (SPEC 5, 6).

A message whose template fails, or whose header would carry a control character or an encoded
word, is dropped from the plan and reported as an error; the other messages go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import cast

from arflow.actions import channel_kind
from arflow.attachments import build
from arflow.channels import Attachment, Message, sender_address
from arflow.contexts import (
    MessageContexts,
    conditions_context,
    contact_context,
    reply_context,
    statement_context,
    totals_context,
    with_payment_links,
)
from arflow.errors import RowError
from arflow.fees.charging import charges_for, charges_text
from arflow.fees.contexts import with_fee_totals
from arflow.fees.rates import MissingRate
from arflow.headers import unsafe_header
from arflow.ledger import Customer, Invoice, Ledger
from arflow.message_names import file_name, key_digest, message_id
from arflow.planner.plan_types import STATEMENT_LINES, Plan, PlannedAction
from arflow.project import Project
from arflow.render import MONEY, RenderError, inline_css, payment_link
from arflow.sandbox import TOO_LARGE


def contexts(
    actions: list[PlannedAction],
    as_of: date,
    ledger: Ledger,
    project: Project,
    by_customer: dict[str, list[Invoice]] | None = None,
) -> Iterator[tuple[PlannedAction, dict]]:
    """(action, context) for each action; the customers' totals come from one ledger pass
    (`owing`), or from `by_customer` when the caller made it."""
    if by_customer is None:
        by_customer = owing(actions, as_of, ledger)
    make = MessageContexts(project.config, as_of, project.fee_book())
    totals: dict[tuple[str, str], dict] = {}
    workflows: dict[str, dict] = {}
    steps: dict[tuple[str, str], dict] = {}
    statement: tuple[object, dict] | None = None  # a campaign's, for all its actions
    for action in actions:
        if action.digest is not None:  # issue 34: the weekly digest, made when planned
            yield action, {}
            continue
        customer = ledger.customers[action.customer_id]
        currency = (
            action.items[0].currency
            if action.items
            else (customer.currency or project.config.company.currency)
        )
        key = (action.customer_id, currency)
        if key not in totals:
            if totals and next(iter(totals))[0] != action.customer_id:
                totals.clear()  # a plan lists a customer's actions together: keep one's
            owed = by_customer[action.customer_id]
            totals[key] = with_fee_totals(
                totals_context(owed, as_of, currency, project.config.min_balance),
                owed,
                make.fees,
                action.workflow,
                as_of,
            )
        if action.workflow not in workflows:
            _add_workflow(project, action.workflow, workflows, steps)
        context = make(
            customer,
            action.items,
            totals[key],
            workflows[action.workflow],
            steps.get((action.workflow, action.step)) or {"id": action.step, "day": None},
        )
        if action.statement is not None:  # SPEC 4.10: a campaign's statement
            if statement is None or statement[0] is not action.statement:
                statement = (
                    action.statement,
                    {
                        "statement": statement_context(action.statement, ledger.customers, as_of),
                        "conditions": conditions_context(action.statement),
                    },
                )
            context = {**context, **statement[1]}
        yield action, _with_own(action, context)


def _with_own(action: PlannedAction, context: dict) -> dict:
    """`context` with what only this action has: the reply a notice tells of, its payment
    plan (issue 32), the contact it speaks to (issue 33)."""
    own: dict = {}
    if action.incoming is not None:
        own["reply"] = reply_context(action.incoming)
    if action.plan is not None:
        own["plan"] = action.plan
    if action.hold is not None:  # issue 33: a credit hold's event
        own["hold"] = action.hold
    if action.contact is not None:
        own["contact"] = contact_context(action.contact)
    return {**context, **own} if own else context


def _add_workflow(
    project: Project, workflow: str, workflows: dict[str, dict], steps: dict[tuple[str, str], dict]
) -> None:
    """`workflow` and `step` of the workflow's messages, into `workflows` and `steps`."""
    wf = project.workflows.get(workflow)
    if wf is None:  # an inbox notice (SPEC 6.1), a payment plan's: no workflow sends it
        name = {"plans": "Payment plans", "credit_hold": "Credit hold"}.get(workflow, "Inbox")
        workflows[workflow] = {"id": workflow, "name": name, "description": ""}
        return
    workflows[workflow] = {
        "id": wf.id,
        "name": wf.model.name or wf.id,
        "description": wf.model.description,
    }
    for step in wf.model.steps:
        steps[(wf.id, step.step_id)] = {"id": step.step_id, "day": step.day}


def owing(actions: list[PlannedAction], as_of: date, ledger: Ledger) -> dict[str, list[Invoice]]:
    """The invoices that may be owed on `as_of` of each customer these actions are for."""
    return ledger.of_customers({a.customer_id for a in actions}, owing_on=as_of)


class _Dropped(Exception):
    """This action's message cannot be made; the error says why."""

    def __init__(self, error: RowError):
        self.error = error


@dataclass(slots=True)
class Composed:
    """A planned action with what it carries: a message, and/or the text of a status, task
    title or note."""

    action: PlannedAction
    message: Message | None = None
    text: str | None = None
    assignee: str | None = None  # task: the person's key in `people:`


def _render(
    project: Project,
    action: PlannedAction,
    name: str,
    kind: str,
    context: dict,
    language: str | None = None,
) -> str:
    templates = project.templates
    try:
        return templates.render(name, kind, context, language)
    except RenderError as exc:
        code = templates.language_of(name, kind, language)
        raise _Dropped(
            RowError(
                f"{project.config.named(templates.directory)}/"
                f"{exc.file or templates.filename(name, kind, code)}",
                exc.line or 0,
                None,
                action.customer_id,
                f"cannot render for customer {action.customer_id}: {exc.message}"
                + _too_long(action, exc),
            )
        ) from None


def _too_long(action: PlannedAction, exc: RenderError) -> str:
    """What to do when a statement too long to list is over the size a render may make."""
    statement = action.statement
    if statement is None or not statement.totals_only or str(exc.cause) != TOO_LARGE:
        return ""
    return (
        f"; a statement of {len(statement.listed)} invoices is too long to list: show its "
        f"totals when `statement.totals_only` is true (past {STATEMENT_LINES:,} invoices or "
        "accounts), as the statement templates of `arflow init` do"
    )


def _with_links(project: Project, action: PlannedAction, context: dict) -> dict:
    """The message's payment links, from `payment_url:`; one that cannot be made drops the
    message, as a failing template does."""
    config = project.config

    def link(ctx: dict) -> str | None:
        try:
            return payment_link(project.templates, cast(str, config.payment_url), ctx)
        except RenderError as exc:
            raise _Dropped(
                RowError(
                    config.display(config.path),
                    config.line("payment_url") or 0,
                    "payment_url",
                    action.customer_id,
                    f"cannot make the payment link for customer "
                    f"{action.customer_id}: {exc.message}",
                )
            ) from None

    return with_payment_links(context, link)


def _render_inline(project: Project, action: PlannedAction, text: str, context: dict) -> str:
    try:
        return project.templates.render_string(text, context)
    except RenderError as exc:
        wf = project.workflows[action.workflow]
        raise _Dropped(
            RowError(
                wf.display,
                wf.action_line(action.step, action.action_index),
                None,
                action.customer_id,
                f"step {action.step}: cannot render {text!r} for customer "
                f"{action.customer_id}: {exc.message}",
            )
        ) from None


def compose(
    plan: Plan, ledger: Ledger, project: Project, failed: list[RowError], message_key: bytes
) -> Iterator[Composed]:
    """A real run: every action with its rendered message, one at a time as delivery asks for
    them; an action whose message cannot be made goes to `failed` and, once the iterator is
    done, out of `plan.actions`. Each email's Message-ID is keyed with `message_key`, the
    state database's (`StateDB.message_key`)."""
    dropped: set[int] = set()
    for action, made in compose_each(plan.actions, plan.as_of, ledger, project, message_key):
        if isinstance(made, RowError):
            failed.append(made)
            dropped.add(id(action))
            continue
        yield made
    if dropped:
        plan.actions = [a for a in plan.actions if id(a) not in dropped]


def compose_each(
    actions: list[PlannedAction],
    as_of: date,
    ledger: Ledger,
    project: Project,
    message_key: bytes,
    by_customer: dict[str, list[Invoice]] | None = None,
) -> Iterator[tuple[PlannedAction, Composed | RowError]]:
    """Each action with what it carries, or the error that keeps its message from being made
    (`compose`'s work, which the composing pool's workers share out)."""
    for action, context in contexts(actions, as_of, ledger, project, by_customer):
        try:
            composed = _compose_one(action, context, ledger, project)
        except _Dropped as exc:
            yield action, exc.error
            continue
        message = composed.message
        if message is not None and message.kind == "email":
            message.message_id = message_id(action, message.sender or "", message_key)
        yield action, composed


def _compose_one(
    action: PlannedAction, context: dict, ledger: Ledger, project: Project
) -> Composed:
    if action.digest is not None:  # issue 34: no template, no customer
        return _compose_digest(action, project)
    if project.config.payment_url:
        context = _with_links(project, action, context)
    return COMPOSERS[action.kind](action, context, ledger.customers[action.customer_id], project)


def _compose_digest(action: PlannedAction, project: Project) -> Composed:
    """The weekly digest (issue 34): an email to people, its parts made when planned."""
    made = action.digest or {}
    parts = made["subject"], made["text"], made["html"]
    return Composed(action, _email(action, project, Customer(""), *parts, people=True))


def _compose_text(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    """status, task, assign: the text they record (a status's value, a task's title, the
    specialist)."""
    spec = action.action.spec
    source = {"status": "value", "task": "title", "assign": "specialist"}[action.kind]
    action.text = _render_inline(project, action, getattr(spec, source), context)
    return Composed(action, text=action.text, assignee=action.assignee)


def _compose_note(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    text = action.text = _render_inline(project, action, action.action.spec.text, context)
    message = None
    if action.to:  # SPEC 5: the note is also emailed to the customer's specialist
        subject = f"Note on {customer.display_name}: {action.workflow} › {action.step}"
        message = _email(action, project, customer, subject, text, None, people=True)
    return Composed(action, message, text)


def _compose_sms(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    template = action.action.spec.template
    body = _render(project, action, template, "sms", context, _language(action, customer))
    return Composed(
        action,
        Message(
            "sms",
            file_name(action),
            list(action.to),
            body=body,
            idempotency_key=str(action.keys[0]),
        ),
    )


def _compose_webhook(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    spec = action.action.spec
    body = _render(project, action, spec.template, "json", context)
    _check_json(project, action, spec.template, body)
    return Composed(action, _webhook(action, spec.url, body))


def _compose_notify(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    config = project.config
    person = _person(project, action)
    context = {**context, "person": person}
    if channel_kind(action, config) == "webhook":
        # a chat or incident hook takes JSON: NAME.json.j2, as `validate` checks
        template = action.action.spec.template
        body = _render(project, action, template, "json", context)
        _check_json(project, action, template, body)
        url = person.get("webhook") or config.channels.notify.url or ""
        return Composed(action, _webhook(action, url, body))
    return _compose_email(action, context, customer, project)


def _language(action: PlannedAction, customer: Customer) -> str | None:
    """A customer message's language: its contact's (issue 33), else the customer's."""
    contact = action.contact
    return (contact.language if contact is not None else None) or customer.language


def _compose_email(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    """An email to the customer (in its language), or a notice to people (in the company's)."""
    spec = action.action.spec
    language = _language(action, customer) if action.kind == "email" else None
    subject = _render(project, action, spec.template, "subject", context, language)
    text = _render(project, action, spec.template, "txt", context, language)
    html = (
        inline_css(_render(project, action, spec.template, "html", context, language))
        if project.templates.has(spec.template, "html")
        or project.templates.language_of(spec.template, "html", language)
        else None
    )
    action.subject = subject
    message = _email(action, project, customer, subject, text, html, people=action.kind == "notify")
    if action.kind == "email" and spec.attach:
        message.attachments = _attachments(project, spec.attach, context, language)
    return Composed(action, message)


def _compose_fees(
    action: PlannedAction, context: dict, customer: Customer, project: Project
) -> Composed:
    """charge_fees: what it charges each invoice (issue 31), recorded with its key."""
    try:
        if action.fees is None:  # not planned with the run's (`charging.plan_charges`)
            action.fees = charges_for(
                project.fee_book(), action.items, action.workflow, action.date
            )
    except MissingRate as exc:
        wf = project.workflows[action.workflow]
        line = wf.action_line(action.step, action.action_index)
        raise _Dropped(RowError(wf.display, line, None, action.customer_id, str(exc))) from None
    action.text = charges_text(action.fees)
    return Composed(action, text=action.text)


Composer = Callable[[PlannedAction, dict, Customer, Project], Composed]
# each kind of `actions.KINDS` and what makes its message or text
COMPOSERS: dict[str, Composer] = {
    "email": _compose_email,
    "sms": _compose_sms,
    "notify": _compose_notify,
    "webhook": _compose_webhook,
    "status": _compose_text,
    "task": _compose_text,
    "note": _compose_note,
    "assign": _compose_text,
    "charge_fees": _compose_fees,
}


def _attachments(
    project: Project, names: list[str], context: dict, language: str | None
) -> list[Attachment]:
    """A campaign's statement files (`attach:`, which `validate` allows in campaigns only,
    and `statement.pdf` only where fpdf2 is installed), made from the message's context, in
    the customer's language."""
    locale = language or project.config.company.locale
    return [
        build(name, context, lambda value, currency: MONEY(value, currency, locale))
        for name in names
    ]


def _person(project: Project, action: PlannedAction) -> dict:
    for person in project.config.people.values():
        if person.email and person.email in action.to:
            return {"name": person.name, "email": person.email, "webhook": person.webhook}
    return {
        "name": action.to[0] if action.to else "",
        "email": action.to[0] if action.to else None,
        "webhook": None,
    }


def _webhook(action: PlannedAction, url: str, body: str) -> Message:
    digest = key_digest(action)
    return Message(
        "webhook", file_name(action, digest), [url], url=url, body=body, idempotency_key=digest
    )


def _check_json(project: Project, action: PlannedAction, template: str, body: str) -> None:
    try:
        json.loads(body)
    except ValueError as exc:
        raise _Dropped(
            RowError(
                f"{project.config.named(project.templates.directory)}/{template}.json.j2",
                exc.lineno if hasattr(exc, "lineno") else 0,
                None,
                action.customer_id,
                f"renders invalid JSON for customer {action.customer_id} ({exc}); every "
                "{{ value }} prints as JSON (a text with its quotes), so write "
                '{{ customer.name }}, not "{{ customer.name }}"',
            )
        ) from None


def _email(
    action: PlannedAction,
    project: Project,
    customer: Customer,
    subject: str,
    text: str,
    html: str | None,
    people: bool,
) -> Message:
    config = project.config
    sender = sender_address(config)
    names = {p.email: p.name for p in config.people.values() if p.email}
    if not people:
        names.update((address, customer.display_name) for address in action.to)
    digest = key_digest(action)
    channel = config.channels.email
    archive = [channel.bcc_archive] if channel.bcc_archive else []
    message = Message(
        "email",
        file_name(action, digest),
        list(action.to),
        subject=subject,
        text=text,
        html=html,
        cc=list(action.cc),
        bcc=list(action.bcc) + archive,
        names=names,
        sender=sender,
        sender_name=config.company.name,
        idempotency_key=str(action.keys[0]),
        reply_to=channel.reply_to,
        list_id=f"<arflow.{sender.rpartition('@')[2]}>",
    )
    unsafe = unsafe_header(message, action, customer, project)
    if unsafe is not None:
        raise _Dropped(unsafe)
    return message
