"""Header safety (SPEC 6): no header value of an email with CR/LF, another control character
or an encoded word. An unsafe value drops its message with an error that names where the value
comes from and what to fix: the customer's row, the subject template, arflow.yaml or the
workflow."""

from __future__ import annotations

from functools import lru_cache

from arflow.channels import Message, header_problem, visible
from arflow.errors import RowError
from arflow.ledger import Customer
from arflow.planner.plan_types import PlannedAction
from arflow.project import Project


def unsafe_header(
    message: Message, action: PlannedAction, customer: Customer, project: Project
) -> RowError | None:
    """SPEC 6: no header value with CR/LF, another control character or an encoded word."""
    recipients = message.recipients
    names = [message.names.get(address, "") for address in recipients]
    subject, sender = message.subject or "", message.sender or ""
    company = message.sender_name or ""
    if not any(map(_header_problem, [*names, *recipients, subject, sender, company])):
        return None  # the usual case; otherwise the first problem, in this order, is reported
    checks = [("name", name) for name in names] + [("email", address) for address in recipients]
    checks += [("subject", subject), ("from", sender), ("company name", company)]
    for what, value in checks:
        problem = _header_problem(value)
        if problem:
            return _unsafe(project, action, customer, what, value, problem)
    return None


# the same sender, company, people and a customer's name and addresses are checked in
# message after message
_header_problem = lru_cache(maxsize=4096)(header_problem)


def _unsafe(
    project: Project, action: PlannedAction, customer: Customer, what: str, value: str, problem: str
) -> RowError:
    """The error for an unsafe header value, naming where the value comes from."""
    file, line, shown, fix = _unsafe_place(project, action, customer, what, value)
    return RowError(
        file,
        line,
        shown,
        visible(value),
        f"not sent to customer {action.customer_id} ({action.workflow} › "
        f"{action.step}): the {what} {problem}, which could forge mail headers; "
        f"{fix} and the next run sends it",
    )


def _unsafe_place(
    project: Project, action: PlannedAction, customer: Customer, what: str, value: str
) -> tuple[str, int, str | None, str]:
    """(file, line, column, fix) of an unsafe header value: the customer's row for its name
    or address (also when the name is printed into a subject), the subject template for any
    other subject, arflow.yaml for the sender, company and people, else the workflow."""
    config = project.config
    source_name = (
        what in ("name", "subject")
        and bool(header_problem(customer.display_name))
        and customer.display_name in value
    )
    template = getattr(action.action.spec, "template", None)
    if source_name or (what == "email" and value in customer.email):
        if customer.line and config.customers is not None:
            source, line = config.customers, customer.line
        else:
            source, line = config.invoices, (action.items[0].line if action.items else 0)
        column = (
            "email"
            if what == "email"
            else "name"
            if source is config.customers
            else "customer_name"
        )
        file = config.source_name(source)
        return file, line, source.columns.get(column, column), "fix the value in the source"
    if what == "subject" and template is not None:
        templates = project.templates
        language = customer.language if action.kind == "email" else None
        code = templates.language_of(template, "subject", language)
        name = templates.filename(template, "subject", code)
        file = f"{config.display(templates.directory)}/{name}"
        return file, 0, None, "fix the template, or the value it prints"
    if what in ("from", "company name") or any(
        value in (p.name, p.email) for p in config.people.values()
    ):
        key = {
            "from": "channels" if config.channels.email.sender else "company",
            "company name": "company",
        }.get(what, "people")
        return (
            config.display(config.path),
            config.line(key) or 0,
            None,
            f"fix {key}: in arflow.yaml",
        )
    # an address written in the workflow (cc, bcc)
    wf = project.workflows[action.workflow]
    return wf.display, wf.action_line(action.step, action.action_index), None, "fix the workflow"
