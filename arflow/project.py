"""A user's AR folder, loaded and checked as a whole: config, workflows, templates (SPEC 3)."""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from jinja2 import TemplateSyntaxError

from arflow.attachments import missing_package
from arflow.channels import header_problem
from arflow.config import CUSTOMER_FIELDS, INVOICE_FIELDS, Config, load_config
from arflow.contacts import BOUNCE_TEMPLATE, REPLY_TEMPLATE
from arflow.contexts import sample_context, with_payment_links
from arflow.errors import ArflowError, InvalidFiles, Problem, RowError
from arflow.ledger import Ledger
from arflow.planner.schedule import FINISH_TEMPLATE, PAUSE_TEMPLATE
from arflow.render import NotText, RenderError, Templates, payment_link, templates_for
from arflow.sandbox import LimitExceeded
from arflow.sources import extra_samples
from arflow.state import StateDB
from arflow.workflow import Action, LoadedWorkflow, load_workflows, step_key_warnings

PEOPLE_ROLES = ("specialist", "owner")


@dataclass
class Project:
    config: Config
    workflows: dict[str, LoadedWorkflow]
    templates: Templates


def load_project(config_path: Path) -> Project:
    """Load everything and check it; raises InvalidFiles with every problem at once."""
    config = load_config(config_path)
    folder = config.resolve(config.workflows)
    workflows, problems = load_workflows(folder, config.display)
    # a workflow whose file is there but broken has its own errors: naming it is no error
    broken = (
        {
            path.stem
            for path in [*folder.glob("*.yaml"), *folder.glob("*.yml")]
            if path.stem not in workflows
        }
        if folder.is_dir()
        else set()
    )
    templates = templates_for(config)
    problems += check_project(config, workflows, templates, broken)
    if problems:
        raise InvalidFiles(problems)
    return Project(config, workflows, templates)


def check_project(
    config: Config,
    workflows: dict[str, LoadedWorkflow],
    templates: Templates,
    broken: set[str] | None = None,
) -> list[Problem]:
    """The project's own problems; `broken` names workflows whose files failed to load (their
    errors are reported already: a reference to one is not another error)."""
    problems: list[Problem] = []
    broken = broken or set()
    if config.default_workflow and config.default_workflow not in {*workflows, *broken}:
        problems.append(
            Problem(
                config.display(config.path),
                config.line("default_workflow"),
                "default_workflow",
                _unknown_workflow(config.default_workflow, workflows),
            )
        )
    elif (
        config.default_workflow in workflows
        and workflows[config.default_workflow].model.is_campaign
    ):
        problems.append(
            Problem(
                config.display(config.path),
                config.line("default_workflow"),
                "default_workflow",
                _campaign_target(config.default_workflow),
            )
        )
    if config.replies.notify:  # SPEC 6.1: the person is told of each reply and bounce
        use = "json" if config.channels.notify.transport == "webhook" else "email"
        for template in (REPLY_TEMPLATE, BOUNCE_TEMPLATE):
            missing = templates.missing(template, use)
            if missing:
                problems.append(
                    Problem(
                        config.display(config.path),
                        config.line("replies", "notify"),
                        "replies.notify",
                        f"the notice of a customer's "
                        f"{'reply' if template == REPLY_TEMPLATE else 'bounce'} uses the template "
                        f"{template!r}: add {' and '.join(missing)} to "
                        f"{config.display(templates.directory)}/",
                    )
                )
    for wf in workflows.values():
        problems += _check_workflow(wf, config, workflows, templates, broken)
    problems += _then_cycles(workflows)
    problems += _render_all(config, workflows, templates)
    return problems


def history_warnings(project: Project, *, unreadable: bool = True) -> list[Problem]:
    """Warnings, never errors, from the state database (read-only; none before the first
    run): steps whose key comes from `day:` in workflows that have run. A state database that
    cannot be read is a warning too, unless `unreadable` is False (a run reports it itself)."""
    config = project.config
    path = config.resolve(config.state)
    try:
        db = StateDB.open_readonly(path)
        if db is None:
            return []
        try:
            ran = db.workflows_run()
        finally:
            db.close()
    except ArflowError as exc:
        return (
            [Problem(config.display(path), None, "", f"{exc}; step ids were not checked")]
            if unreadable
            else []
        )
    history: dict[str, set[str]] = defaultdict(set)
    for wid, step in ran:
        history[wid].add(step)
    return [
        warning
        for wid, wf in sorted(project.workflows.items())
        for warning in step_key_warnings(wf, history.get(wid, set()))
    ]


def assignment_errors(project: Project, ledger: Ledger) -> list[RowError]:
    """Customers whose `workflow` column names no workflow: reported, and not chased (an
    explicit assignment is never silently replaced by the default or a match)."""
    config = project.config
    if config.customers is None:
        return []
    display = config.display(config.resolve(config.customers.path))
    column = config.customers.columns.get("workflow", "workflow")
    workflows = project.workflows
    return [
        RowError(
            display,
            c.line,
            column,
            c.workflow,
            (
                _unknown_workflow(c.workflow, workflows)
                if c.workflow not in workflows
                else _campaign_target(c.workflow)
            )
            + "; this customer is not chased until it is fixed",
        )
        for c in ledger.customers.values()
        if c.workflow and (c.workflow not in workflows or workflows[c.workflow].model.is_campaign)
    ]


def _campaign_target(name: str) -> str:
    return (
        f"{name!r} is a campaign: it reaches its customers by its own match: and calendar, "
        "and follows no invoice; name a workflow with steps:"
    )


def _unknown_workflow(name: str, workflows: dict) -> str:
    known = ", ".join(sorted(workflows)) or "none"
    return f"no workflow {name!r} (workflows: {known}); the id is the file name without .yaml"


def workflow_actions(wf: LoadedWorkflow):
    """(location, action) for every action in the workflow."""
    m = wf.model
    for i, step in enumerate(m.steps):
        for j, action in enumerate(step.actions):
            yield ("steps", i, "actions", j), action
    for j, action in enumerate(m.on_paid):
        yield ("on_paid", j), action
    for j, action in enumerate(m.actions):
        yield ("actions", j), action


def _check_workflow(
    wf: LoadedWorkflow, config: Config, workflows: dict, templates: Templates, broken: set[str]
) -> list[Problem]:
    problems = []
    m = wf.model

    def add(loc: tuple, message: str) -> None:
        problems.append(Problem(wf.display, wf.located.line(loc), ".".join(map(str, loc)), message))

    def person(loc: tuple, name: str, roles=PEOPLE_ROLES) -> None:
        if name not in config.people and name not in roles:
            known = ", ".join(sorted(config.people)) or "none defined"
            add(
                loc,
                f"unknown person {name!r}: add it under people: in arflow.yaml (people: {known})",
            )

    seen: dict[str, int] = {}
    for i, step in enumerate(m.steps):
        if step.step_id in seen:
            add(
                ("steps", i, "id") if step.id else ("steps", i),
                f"step id {step.step_id!r} is used twice (also steps.{seen[step.step_id]}); "
                "give each step a unique id:",
            )
        seen.setdefault(step.step_id, i)
    for key in ("then", "on_broken_promise"):
        target = getattr(m, key)
        if target is not None and target not in workflows and target not in broken:
            add((key,), _unknown_workflow(target, workflows))
        elif target in workflows and workflows[target].model.is_campaign:
            add((key,), _campaign_target(target))
    if m.owner is not None:
        person(("owner",), m.owner, roles=())
    notify_use = "json" if config.channels.notify.transport == "webhook" else "email"
    for n, event in enumerate(m.notify_on):
        template = FINISH_TEMPLATE if event == "finish" else PAUSE_TEMPLATE
        missing = templates.missing(template, notify_use)
        if missing:
            add(
                ("notify_on", n),
                f"notify_on: {event} tells the owner with the template "
                f"{template!r}: add {' and '.join(missing)} to "
                f"{config.display(templates.directory)}/",
            )
    for loc, action in workflow_actions(wf):
        kind, spec = action.kind, action.spec
        uses = {"email": "email", "sms": "sms", "notify": notify_use, "webhook": "json"}
        if kind in uses:
            missing = templates.missing(spec.template, uses[kind])
            if missing:
                add(
                    (*loc, kind, "template"),
                    f"template {spec.template!r} needs "
                    f"{' and '.join(missing)} in {config.display(templates.directory)}/",
                )
        if kind == "email":
            for field in ("cc", "bcc"):
                for n, who in enumerate(getattr(spec, field)):
                    if "@" not in who:
                        person((*loc, kind, field, n), who)
            for n, name in enumerate(spec.attach):
                if loc[0] != "actions":
                    add(
                        (*loc, kind, "attach", n),
                        f"attach: {name} is a campaign's statement; "
                        "a workflow with steps: has none to attach (move this email into a "
                        "campaign, or remove attach:)",
                    )
                elif (package := missing_package(name)) is not None:
                    add((*loc, kind, "attach", n), package)
        elif kind == "notify":
            if not spec.to and m.owner is None:
                add((*loc, kind), "notify needs to: PERSON, or owner: on the workflow")
            for n, who in enumerate(spec.to):
                person((*loc, kind, "to", n), who)
        elif kind == "task":
            person((*loc, kind, "assignee"), spec.assignee)
        elif kind == "assign":
            person((*loc, kind, "specialist"), spec.specialist, roles=())
    return problems


def _then_cycles(workflows: dict[str, LoadedWorkflow]) -> list[Problem]:
    problems = []
    reported: set[frozenset] = set()
    for start in sorted(workflows):
        path, current = [start], workflows[start].model.then
        while current in workflows and current not in path:
            path.append(current)
            current = workflows[current].model.then
        if current == start:
            cycle = frozenset(path)
            if cycle not in reported:
                reported.add(cycle)
                wf = workflows[start]
                problems.append(
                    Problem(
                        wf.display,
                        wf.located.line(("then",)),
                        "then",
                        "then: makes a cycle: "
                        + " → ".join([*path, start])
                        + "; end the chain in a workflow without then:",
                    )
                )
    return problems


# the shapes of context a template meets: (person set, invoices paid, statement set) → how
# errors name it; the first is the fullest
_SHAPES = {
    (True, False, True): "",
    (False, False, True): " (in a campaign's customer message, where person is not set)",
    (True, False, False): "",
    (False, False, False): " (in a customer message, where person is not set)",
    (True, True, False): " (in on_paid, where the invoices are paid)",
    (False, True, False): " (in a customer message in on_paid: no person, invoices paid)",
}
FULLEST = next(iter(_SHAPES))


def _shape_note(
    templates: Templates, name: str, kind: str, shape: tuple, contexts: dict, code: str | None
) -> str:
    """Where the error comes from the shape of the context: said, when the template renders
    in the fullest shape."""
    if shape == FULLEST or not _renders(templates, name, kind, contexts[FULLEST], code):
        return ""
    person, paid, statement = shape
    if not (statement or paid) and _renders(
        templates, name, kind, contexts[(person, False, True)], code
    ):
        return " (in a workflow's message, where statement is not set: campaigns have it)"
    return _SHAPES[shape]


def _renders(templates: Templates, name: str, kind: str, context: dict, code: str | None) -> bool:
    try:
        templates.render(name, kind, context if code is None else _in_language(context, code), code)
    except RenderError:
        return False
    return True


def _template_uses(config: Config, workflows: dict[str, LoadedWorkflow]) -> dict[str, set]:
    """Template name → the shapes of context its uses give it (see `_SHAPES`)."""
    uses: dict[str, set] = {}
    if config.replies.notify:
        for notice in (REPLY_TEMPLATE, BOUNCE_TEMPLATE):
            uses.setdefault(notice, set()).add((True, False, False))
    for wf in workflows.values():
        for event in wf.model.notify_on:
            uses.setdefault(FINISH_TEMPLATE if event == "finish" else PAUSE_TEMPLATE, set()).add(
                (True, False, False)
            )
        for loc, action in workflow_actions(wf):
            template = getattr(action.spec, "template", None)
            if template is not None:
                uses.setdefault(template, set()).add(
                    (action.kind == "notify", loc[0] == "on_paid", loc[0] == "actions")
                )
    return uses


def _render_all(
    config: Config, workflows: dict[str, LoadedWorkflow], templates: Templates
) -> list[Problem]:
    """Render every template file, in every shape of context its uses give it, and every
    inline template; `invoice.extra` and `customer.extra` hold the sources' extra columns."""
    problems: list[Problem] = []
    invoice_extra = extra_samples(config, config.invoices, INVOICE_FIELDS)
    customer_extra = extra_samples(config, config.customers, CUSTOMER_FIELDS)
    contexts = {
        shape: sample_context(
            config,
            person=shape[0],
            paid=shape[1],
            statement=shape[2],
            invoice_extra=invoice_extra,
            customer_extra=customer_extra,
        )
        for shape in _SHAPES
    }
    if config.payment_url:
        contexts = {
            shape: _with_sample_links(config, templates, context, problems)
            for shape, context in contexts.items()
        }
    display_dir = config.display(templates.directory)
    uses = _template_uses(config, workflows)
    # an error inside an included partial is reported once, at the partial's line, however
    # many templates include it
    reported: set[tuple[str, int | None, str]] = set()
    files: list[tuple[str, str, str | None]] = [
        (name, kind, None)
        for name in sorted(templates.kinds)
        for kind in sorted(templates.kinds[name])
    ]
    for name in sorted(templates.languages):
        for language, kinds in sorted(templates.languages[name].items()):
            files += [(name, kind, language) for kind in sorted(kinds)]
            problems += _language_gaps(templates, display_dir, name, language)
    for name, kind, code in files:
        path = f"{display_dir}/{templates.filename(name, kind, code)}"
        for shape in sorted(uses.get(name) or {FULLEST}, key=list(_SHAPES).index):
            context = contexts[shape] if code is None else _in_language(contexts[shape], code)
            try:
                text = templates.render(name, kind, context, code)
            except RenderError as exc:
                at = f"{display_dir}/{exc.file}" if exc.file else path
                if (at, exc.line, exc.message) not in reported:
                    reported.add((at, exc.line, exc.message))
                    if isinstance(exc.cause, LimitExceeded):
                        # the same in every shape; a slow one is not run again
                        problems.append(Problem(at, exc.line, "", exc.message))
                        break
                    problems.append(
                        Problem(
                            at,
                            exc.line,
                            "",
                            _template_message(
                                exc,
                                _source(
                                    templates, exc.file or templates.filename(name, kind, code)
                                ),
                                context,
                                templates.env.filters,
                            )
                            + _shape_note(templates, name, kind, shape, contexts, code),
                        )
                    )
                continue
            problem = _rendered_problem(kind, text)
            if problem and (path, None, problem) not in reported:
                reported.add((path, None, problem))
                problems.append(Problem(path, None, "", problem))
    for wf in workflows.values():
        for loc, action in workflow_actions(wf):
            context = contexts[(False, loc[0] == "on_paid", loc[0] == "actions")]
            for field, text in _inline(action):
                try:
                    templates.render_string(text, context)
                except RenderError as exc:
                    where = (*loc, action.kind, field)
                    problems.append(
                        Problem(
                            wf.display,
                            wf.located.line(where),
                            ".".join(map(str, where)),
                            _template_message(exc),
                        )
                    )
    return problems


def _with_sample_links(
    config: Config, templates: Templates, context: dict, problems: list[Problem]
) -> dict:
    """A sample context with its payment links; a `payment_url:` that fails is reported once."""

    def link(ctx: dict) -> str | None:
        try:
            return payment_link(templates, cast(str, config.payment_url), ctx)
        except RenderError as exc:
            problem = Problem(
                config.display(config.path),
                config.line("payment_url"),
                "payment_url",
                _template_message(exc, config.payment_url, ctx, templates.env.filters),
            )
            if problem not in problems:
                problems.append(problem)
            return None

    return with_payment_links(context, link)


def _in_language(context: dict, code: str) -> dict:
    """The sample context of a customer whose language is `code` (a NAME.LANG.KIND.j2)."""
    return {**context, "customer": {**context["customer"], "language": code}}


def _language_gaps(templates: Templates, display_dir: str, name: str, code: str) -> list[Problem]:
    """A language's files of a template must match the default's kinds: else a customer of
    that language would get, say, a German subject over an English body."""
    have = templates.languages[name][code]
    return [
        Problem(
            f"{display_dir}/{templates.filename(name, kind, code)}",
            None,
            "",
            f"missing: {templates.filename(name, next(iter(sorted(have))), code)} is "
            f"there, so a customer whose language is {code} would get this part from "
            f"{templates.filename(name, kind)}, in the default language; add it",
        )
        for kind in sorted(templates.kinds.get(name, set()) - have)
    ]


def _rendered_problem(kind: str, text: str) -> str | None:
    """What is wrong with a sample rendering that rendered: a subject that is not one header
    line (SPEC 6), a JSON body that is not JSON."""
    if kind == "subject":
        if "\n" in text or "\r" in text:
            return (
                "subject renders a line break; a mail header must be one line (trim the "
                "template's line breaks with {%- -%})"
            )
        problem = header_problem(text)
        if problem:
            return f"the rendered subject {problem}; a mail header must be one line of text"
    if kind == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            return (
                f"renders invalid JSON ({exc}); every {{{{ value }}}} prints as JSON (a "
                "text with its quotes), so write {{ customer.name }}, not "
                '"{{ customer.name }}"'
            )
    return None


def _inline(action: Action):
    spec = action.spec
    for field in ("title", "text", "value"):
        if action.kind in ("task", "note", "status") and hasattr(spec, field):
            yield field, getattr(spec, field)


def _source(templates: Templates, filename: str) -> str | None:
    try:
        return (templates.directory / filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _template_message(
    exc: RenderError,
    source: str | None = None,
    context: dict | None = None,
    filters: Iterable[str] = (),
) -> str:
    """The error in a person's words. With the template's `source` and the sample `context`, a
    missing field names its object and the fields it has; an unknown filter, the nearest."""
    message = exc.message
    if isinstance(exc.cause, NotText):
        return message
    if isinstance(exc.cause, TemplateSyntaxError):
        unknown = re.match(r"No filter named '(\w+)'", message)
        near = difflib.get_close_matches(unknown[1], list(filters), n=1) if unknown else []
        if near:
            return f"template syntax error: {message.rstrip('.')}; did you mean {near[0]!r}?"
        return f"template syntax error: {message}"
    missing = re.search(r"has no attribute '(\w+)'", message)
    if missing and source and context is not None and exc.line:
        lines = source.splitlines()
        text = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
        for found in re.finditer(rf"([A-Za-z_][\w.]*)\.{missing[1]}\b", text):
            value: object = context
            for part in found[1].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, dict) and found[1].endswith(".extra"):
                return (
                    f"{found[1]} has no field {missing[1]!r}: the source has no such "
                    "column (its other columns: "
                    f"{', '.join(sorted(value)) or 'none'})"
                )
            if isinstance(value, dict):
                return (
                    f"{found[1]} has no field {missing[1]!r}; its fields are "
                    f"{', '.join(sorted(value))}"
                )
    if "is undefined" in message or "has no attribute" in message:
        return (
            f"{message} — check the spelling; templates see company, customer, invoices, "
            "invoice, totals, workflow, step, today, person, conditions, statement, "
            "payment_url"
        )
    return f"template error: {message}"
