"""The templates of a project, checked by rendering: every template file in every shape of
context its uses give it (a customer message has no person, on_paid's invoices are paid, a
campaign's message has a statement), every language's files against the default's, and the
inline templates of tasks, notes and statuses. Errors are said in a person's words."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from typing import cast

from jinja2 import TemplateSyntaxError

from arflow.action_specs import Action
from arflow.channels import header_problem
from arflow.config import CUSTOMER_FIELDS, INVOICE_FIELDS, Config
from arflow.contacts import BOUNCE_TEMPLATE, REPLY_TEMPLATE
from arflow.contexts import sample_context, with_payment_links
from arflow.errors import Problem
from arflow.planner.schedule import FINISH_TEMPLATE, PAUSE_TEMPLATE
from arflow.render import NotText, RenderError, Templates, payment_link
from arflow.sandbox import LimitExceeded
from arflow.sources import extra_samples
from arflow.workflow import LoadedWorkflow, workflow_actions

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


def render_problems(
    config: Config, workflows: dict[str, LoadedWorkflow], templates: Templates
) -> list[Problem]:
    """Render every template file, in every shape of context its uses give it, and every
    inline template; `invoice.extra` and `customer.extra` hold the sources' extra columns."""
    problems: list[Problem] = []
    contexts = _sample_contexts(config, templates, problems)
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
        shapes = sorted(uses.get(name) or {FULLEST}, key=list(_SHAPES).index)
        problems += _file_problems(
            templates, display_dir, (name, kind, code), shapes, contexts, reported
        )
    for wf in workflows.values():
        problems += _inline_problems(wf, templates, contexts)
    return problems


def _sample_contexts(
    config: Config, templates: Templates, problems: list[Problem]
) -> dict[tuple, dict]:
    """A sample context for every shape (`_SHAPES`), with payment links when `payment_url:`
    is set (a `payment_url:` that fails is added to `problems`)."""
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
    return contexts


def _file_problems(
    templates: Templates,
    display_dir: str,
    file: tuple[str, str, str | None],
    shapes: list[tuple],
    contexts: dict[tuple, dict],
    reported: set[tuple[str, int | None, str]],
) -> list[Problem]:
    """One template file (name, kind, language) rendered in each of `shapes`; a problem
    already in `reported` is not reported again."""
    name, kind, code = file
    problems: list[Problem] = []
    path = f"{display_dir}/{templates.filename(name, kind, code)}"
    for shape in shapes:
        context = contexts[shape] if code is None else _in_language(contexts[shape], code)
        try:
            text = templates.render(name, kind, context, code)
        except RenderError as exc:
            at = f"{display_dir}/{exc.file}" if exc.file else path
            if (at, exc.line, exc.message) in reported:
                continue
            reported.add((at, exc.line, exc.message))
            if isinstance(exc.cause, LimitExceeded):
                # the same in every shape; a slow one is not run again
                problems.append(Problem(at, exc.line, "", exc.message))
                break
            message = _template_message(
                exc,
                _source(templates, exc.file or templates.filename(name, kind, code)),
                context,
                templates.env.filters,
            )
            note = _shape_note(templates, name, kind, shape, contexts, code)
            problems.append(Problem(at, exc.line, "", message + note))
            continue
        problem = _rendered_problem(kind, text)
        if problem and (path, None, problem) not in reported:
            reported.add((path, None, problem))
            problems.append(Problem(path, None, "", problem))
    return problems


def _inline_problems(
    wf: LoadedWorkflow, templates: Templates, contexts: dict[tuple, dict]
) -> list[Problem]:
    """The inline templates of a workflow's actions (a task's title, a note, a status)."""
    problems: list[Problem] = []
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


def _inline(action: Action) -> Iterator[tuple[str, str]]:
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
