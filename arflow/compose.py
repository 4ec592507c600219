"""Filling a plan's messages in: contexts, subjects and failures to render (SPEC 5)."""

from __future__ import annotations

from collections import defaultdict

from jinja2 import TemplateError

from arflow.engine import Plan, PlannedAction
from arflow.errors import RowError
from arflow.ledger import Invoice, Ledger
from arflow.project import Project
from arflow.render import message_context, template_error, totals_context


def needs_subject(action: PlannedAction, project: Project) -> bool:
    return action.kind == "email" or (
        action.kind == "notify" and project.config.channels.notify.transport == "email")


def contexts(actions: list[PlannedAction], as_of, ledger: Ledger, project: Project):
    """(action, context) for each action; the customers' totals come from one ledger pass."""
    wanted = {a.customer_id for a in actions}
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in ledger.invoices:
        if inv.customer_id in wanted:
            by_customer[inv.customer_id].append(inv)
    totals: dict[tuple[str, str], dict] = {}
    workflows: dict[str, dict] = {}
    steps: dict[tuple[str, str], dict] = {}
    for action in actions:
        customer = ledger.customers[action.customer_id]
        currency = action.items[0].currency if action.items else (
            customer.currency or project.config.company.currency)
        key = (action.customer_id, currency)
        if key not in totals:
            totals[key] = totals_context(by_customer[action.customer_id], as_of, currency)
        if action.workflow not in workflows:
            wf = project.workflows[action.workflow]
            workflows[action.workflow] = {"id": wf.id, "name": wf.model.name or wf.id,
                                          "description": wf.model.description}
            for step in wf.model.steps:
                steps[(wf.id, step.step_id)] = {"id": step.step_id, "day": step.day}
        yield action, message_context(project.config, customer, action.items, totals[key], as_of,
                                      workflows[action.workflow],
                                      steps[(action.workflow, action.step)])


def render_subjects(plan: Plan, ledger: Ledger, project: Project) -> list[RowError]:
    """Render each email subject; an action whose template fails is dropped and reported."""
    templates = project.templates
    failed: list[RowError] = []
    dropped: set[int] = set()
    with_subject = [a for a in plan.actions if needs_subject(a, project)]
    for action, context in contexts(with_subject, plan.as_of, ledger, project):
        template = action.template
        try:
            action.subject = templates.render(template, "subject", context)
        except TemplateError as exc:
            line, message = template_error(exc)
            failed.append(RowError(
                f"{project.config.display(templates.directory)}/{template}.subject.j2",
                line or 0, None, action.customer_id,
                f"cannot render for customer {action.customer_id}: {message}"))
            dropped.add(id(action))
    if dropped:
        plan.actions = [a for a in plan.actions if id(a) not in dropped]
    return failed
