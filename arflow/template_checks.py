"""The templates of a project, checked by rendering: every template file in every shape of
context its uses give it (a customer message has no person, on_paid's invoices are paid, a
campaign's message has a statement), every language's files against the default's, and the
inline templates of tasks, notes and statuses. Errors are said in a person's words."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator

from jinja2 import TemplateSyntaxError

from arflow.action_specs import Action
from arflow.channels import header_problem
from arflow.config import Config
from arflow.contacts import BOUNCE_TEMPLATE, REPLY_TEMPLATE
from arflow.errors import Problem
from arflow.planner.schedule import FINISH_TEMPLATE, PAUSE_TEMPLATE
from arflow.render import NotText, RenderError, Templates
from arflow.samples import FULLEST, SHAPES, Samples, data_warning
from arflow.sandbox import LimitExceeded
from arflow.workflow import LoadedWorkflow, workflow_actions

_SHAPES = SHAPES


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
    config: Config,
    workflows: dict[str, LoadedWorkflow],
    templates: Templates,
    warnings: list[Problem] | None = None,
) -> list[Problem]:
    """Render every template file, in every shape of context its uses give it, and every
    inline template; `invoice.extra` and `customer.extra` hold the sources' extra columns. A
    failure that depends on a row's values (arflow.samples) is added to `warnings`, not
    returned: it is one message's, never the night's."""
    problems: list[Problem] = []
    found = _Found(problems, [] if warnings is None else warnings)
    samples = Samples(config, templates)
    if config.payment_url:
        _payment_problems(config, samples, found)
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
        _file_problems(templates, display_dir, (name, kind, code), shapes, samples, found, reported)
    for wf in workflows.values():
        _inline_problems(wf, templates, samples, found)
    return problems


class _Found:
    """Where the checks put what they find: a problem (the template is broken), or, when the
    failure depends on a row's values (`Samples.depends_on`), a warning naming the row."""

    def __init__(self, problems: list[Problem], warnings: list[Problem]):
        self.problems = problems
        self.warnings = warnings

    def add(self, problem: Problem, row: str | None) -> None:
        """`problem` as found in the sample; `row`: what it depends on (None: nothing)."""
        if row is None:
            self.problems.append(problem)
            return
        warning = Problem(
            problem.path, problem.line, problem.where, data_warning(problem.message, row)
        )
        if warning not in self.warnings:
            self.warnings.append(warning)


def _file_problems(
    templates: Templates,
    display_dir: str,
    file: tuple[str, str, str | None],
    shapes: list[tuple],
    samples: Samples,
    found: _Found,
    reported: set[tuple[str, int | None, str]],
) -> None:
    """One template file (name, kind, language) rendered in each of `shapes`; a problem
    already in `reported` is not reported again."""
    name, kind, code = file
    path = f"{display_dir}/{templates.filename(name, kind, code)}"
    fails = functools.partial(_file_fails, templates, file)
    contexts = samples.base
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
                found.add(Problem(at, exc.line, "", exc.message), None)
                break
            message = _template_message(
                exc,
                _source(templates, exc.file or templates.filename(name, kind, code)),
                context,
                templates.env.filters,
            )
            note = _shape_note(templates, name, kind, shape, contexts, code)
            found.add(Problem(at, exc.line, "", message + note), samples.depends_on(shape, fails))
            continue
        problem = _rendered_problem(kind, text)
        if problem and (path, None, problem) not in reported:
            reported.add((path, None, problem))
            found.add(Problem(path, None, "", problem), samples.depends_on(shape, fails))


def _file_fails(templates: Templates, file: tuple[str, str, str | None], context: dict) -> bool:
    """Whether a template file fails in `context`: an error, or a rendering that is wrong."""
    name, kind, code = file
    try:
        text = templates.render(
            name, kind, context if code is None else _in_language(context, code), code
        )
    except RenderError:
        return True
    return _rendered_problem(kind, text) is not None


def _inline_problems(
    wf: LoadedWorkflow, templates: Templates, samples: Samples, found: _Found
) -> None:
    """The inline templates of a workflow's actions (a task's title, a note, a status)."""
    for loc, action in workflow_actions(wf):
        shape = (False, loc[0] == "on_paid", loc[0] == "actions")
        for field, text in _inline(action):
            try:
                templates.render_string(text, samples.base[shape])
            except RenderError as exc:
                where = (*loc, action.kind, field)
                problem = Problem(
                    wf.display,
                    wf.located.line(where),
                    ".".join(map(str, where)),
                    _template_message(exc),
                )
                fails = functools.partial(_string_fails, templates, text)
                found.add(problem, samples.depends_on(shape, fails))


def _string_fails(templates: Templates, text: str, context: dict) -> bool:
    try:
        templates.render_string(text, context)
    except RenderError:
        return True
    return False


def _payment_problems(config: Config, samples: Samples, found: _Found) -> None:
    """`payment_url:` made for each sample message and each of its invoices; the first that
    fails is reported, once."""
    for shape, context in samples.base.items():
        exc = _link_error(samples, context)
        if exc is not None:
            problem = Problem(
                config.display(config.path),
                config.line("payment_url"),
                "payment_url",
                _template_message(exc, config.payment_url, context, samples.templates.env.filters),
            )
            fails = functools.partial(_link_fails, samples)
            found.add(problem, samples.depends_on(shape, fails))
            return


def _link_error(samples: Samples, context: dict) -> RenderError | None:
    """Why a payment link of a message (its own, or one of its invoices') cannot be made."""
    for ctx in (context, *({**context, "invoice": item} for item in context["invoices"])):
        try:
            samples.link(ctx)
        except RenderError as exc:
            return exc
    return None


def _link_fails(samples: Samples, context: dict) -> bool:
    return _link_error(samples, context) is not None


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
