"""Filling a plan's messages in: contexts, subjects and failures to render (SPEC 5)."""

from __future__ import annotations

from collections import defaultdict

from jinja2 import TemplateError

from arflow.engine import Plan, PlannedAction
from arflow.errors import RowError
from arflow.ledger import Invoice, Ledger
from arflow.project import Project
from arflow.render import message_context, template_error, totals_context


def contexts(plan: Plan, ledger: Ledger, project: Project):
    """(action, context) for every planned action; one pass over the ledger for all of them."""
    wanted = {a.customer_id for a in plan.actions}
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in ledger.invoices:
        if inv.customer_id in wanted:
            by_customer[inv.customer_id].append(inv)
    totals: dict[tuple[str, str], dict] = {}
    for action in plan.actions:
        mine = by_customer[action.customer_id]
        numbers = set(action.invoices)
        listed = sorted((inv for inv in mine if inv.number in numbers),
                        key=lambda i: (i.due_date, i.number))
        customer = ledger.customers[action.customer_id]
        currency = listed[0].currency if listed else (customer.currency or
                                                      project.config.company.currency)
        key = (action.customer_id, currency)
        if key not in totals:
            totals[key] = totals_context(mine, plan.as_of, currency)
        wf = project.workflows[action.workflow]
        step = next(s for s in wf.model.steps if s.step_id == action.step)
        yield action, message_context(
            project.config, customer, listed, totals[key], plan.as_of,
            {"id": wf.id, "name": wf.model.name or wf.id, "description": wf.model.description},
            {"id": step.step_id, "day": step.day})


def render_subjects(plan: Plan, ledger: Ledger, project: Project) -> list[RowError]:
    """Render each email subject; an action whose template fails is dropped and reported."""
    templates = project.templates
    failed: list[RowError] = []
    kept: list[PlannedAction] = []
    for action, context in contexts(plan, ledger, project):
        template = action.template
        uses_subject = action.kind == "email" or (
            action.kind == "notify" and project.config.channels.notify.transport == "email")
        if uses_subject:
            try:
                action.subject = templates.render(template, "subject", context)
            except TemplateError as exc:
                line, message = template_error(exc)
                failed.append(RowError(
                    f"{project.config.display(templates.directory)}/{template}.subject.j2",
                    line or 0, None, action.customer_id,
                    f"cannot render for customer {action.customer_id}: {message}"))
                continue
        kept.append(action)
    plan.actions = kept
    return failed
