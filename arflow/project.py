"""A user's AR folder, loaded and checked as a whole: config, workflows, templates (SPEC 3)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from arflow.action_specs import Action, EmailAction
from arflow.attachments import missing_package
from arflow.config import Config, load_config
from arflow.contacts import BOUNCE_TEMPLATE, REPLY_TEMPLATE
from arflow.errors import ArflowError, InvalidFiles, Problem, RowError
from arflow.fees.book import FeeBook
from arflow.fees.checks import fee_problems
from arflow.holds.checks import hold_problems
from arflow.ledger import Ledger
from arflow.planner.schedule import FINISH_TEMPLATE, PAUSE_TEMPLATE
from arflow.plans import BROKEN_TEMPLATE
from arflow.render import Templates, templates_for
from arflow.sources import contact_roles
from arflow.state import StateDB
from arflow.template_checks import render_problems
from arflow.workflow import (
    LoadedWorkflow,
    Workflow,
    load_workflows,
    step_key_warnings,
    workflow_actions,
)

PEOPLE_ROLES = ("specialist", "owner")


@dataclass
class Project:
    config: Config
    workflows: dict[str, LoadedWorkflow]
    templates: Templates
    # what `validate` warns of: a template that fails for a row's values (arflow.samples)
    warnings: list[Problem] = dataclasses.field(default_factory=list)
    # what was charged and waived (a run reads it from its state: `with_fees`); None: nothing
    fees: FeeBook | None = None

    def fee_book(self) -> FeeBook:
        """The fees as this command knows them: with nothing charged yet, unless a run read
        its state (`with_fees`)."""
        if self.fees is None:
            self.fees = FeeBook(self.config, self.models)
        return self.fees

    def with_fees(self, db: StateDB) -> None:
        """Read what was charged and waived from `db`, when some workflow charges fees."""
        book = FeeBook(self.config, self.models)
        if book.enabled:
            book = FeeBook(self.config, self.models, db.fee_charges(), db.fee_waivers())
        self.fees = book

    @property
    def models(self) -> dict[str, Workflow]:
        """Workflow id → its model: what the planner reads."""
        return {w.id: w.model for w in self.workflows.values()}


def load_project(config_path: Path, *, checked: bool = True) -> Project:
    """Load everything and check it; raises InvalidFiles with every problem at once. With
    `checked` False (a command that sends nothing: `holds`, `dispute`), the files are only
    read, not checked against each other: a broken template does not stop it."""
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
    warnings: list[Problem] = []
    if checked:
        problems += check_project(config, workflows, templates, broken, warnings)
    if problems:
        raise InvalidFiles(problems)
    return Project(config, workflows, templates, warnings)


def check_project(
    config: Config,
    workflows: dict[str, LoadedWorkflow],
    templates: Templates,
    broken: set[str] | None = None,
    warnings: list[Problem] | None = None,
) -> list[Problem]:
    """The project's own problems; `broken` names workflows whose files failed to load (their
    errors are reported already: a reference to one is not another error). What fails only
    for a row's values goes to `warnings`."""
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
    problems += _money_and_people(config, workflows, templates, broken, warnings)
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
                        f"{config.named(templates.directory)}/",
                    )
                )
    roles = contact_roles(config)
    for wf in workflows.values():
        problems += _check_workflow(wf, config, workflows, templates, broken, roles, warnings)
    problems += _then_cycles(workflows)
    problems += fee_problems(config, workflows, warnings)
    problems += render_problems(config, workflows, templates, warnings)
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
    display = config.source_name(config.customers)
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


def _plan_workflows(
    config: Config, workflows: dict[str, LoadedWorkflow], templates: Templates, broken: set[str]
) -> list[Problem]:
    """`plan_workflow:` and `on_broken_plan:` name workflows there are, and the notice of a
    broken plan has its template (issue 32)."""
    found = [
        Problem(
            config.display(config.path),
            config.line(key),
            key,
            _unknown_workflow(wid, workflows),
        )
        for key in ("plan_workflow", "on_broken_plan")
        if (wid := getattr(config, key)) and wid not in {*workflows, *broken}
    ]
    chaser = workflows.get(config.plan_workflow or "")
    if chaser is not None and (chaser.model.is_campaign or chaser.model.anchor != "due_date"):
        found.append(
            Problem(
                config.display(config.path),
                config.line("plan_workflow"),
                "plan_workflow",
                f"{config.plan_workflow!r} must have anchor: due_date and steps: (no campaign): "
                "its steps count from each instalment's day; set anchor: due_date in "
                f"{config.named(chaser.path)} or name the library's payment-plan",
            )
        )
    use = "json" if config.channels.notify.transport == "webhook" else "email"
    key = "plan_workflow" if config.plan_workflow else "on_broken_plan"
    plans = config.plan_workflow or config.on_broken_plan  # plans may break
    missing = templates.missing(BROKEN_TEMPLATE, use) if plans else []
    if missing:
        found.append(
            Problem(
                config.display(config.path),
                config.line(key),
                key,
                f"the specialist's notice of a broken payment plan uses the template "
                f"{BROKEN_TEMPLATE!r}: add {' and '.join(missing)} to "
                f"{config.named(templates.directory)}/",
            )
        )
    return found


def _money_and_people(
    config: Config,
    workflows: dict[str, LoadedWorkflow],
    templates: Templates,
    broken: set[str],
    warnings: list[Problem] | None,
) -> list[Problem]:
    """Issues 32 and 33: the plans' workflows and templates, the credit hold's settings, the
    disputes' workflow; a plan step after the grace is a warning."""
    problems = _plan_workflows(config, workflows, templates, broken)
    problems += hold_problems(config, templates)
    problems += _dispute_workflow(config, workflows, broken)
    if warnings is not None:
        warnings += _after_the_grace(config, workflows)
    return problems


def _dispute_workflow(
    config: Config, workflows: dict[str, LoadedWorkflow], broken: set[str]
) -> list[Problem]:
    """`disputes.workflow:` names a workflow there is (issue 33)."""
    wid = config.disputes.workflow
    if not wid or wid in {*workflows, *broken}:
        return []
    return [
        Problem(
            config.display(config.path),
            config.line("disputes", "workflow"),
            "disputes.workflow",
            _unknown_workflow(wid, workflows),
        )
    ]


def _after_the_grace(config: Config, workflows: dict[str, LoadedWorkflow]) -> list[Problem]:
    """The steps of `plan_workflow:` that come after `plan_grace_days:`: by their day the
    instalment has broken the plan, so they never go."""
    chaser = workflows.get(config.plan_workflow or "")
    if chaser is None or chaser.model.is_campaign:
        return []
    grace = config.plan_grace_days
    return [
        Problem(
            config.display(config.path),
            config.line("plan_grace_days") or config.line("plan_workflow"),
            "plan_grace_days",
            f"step {step.id!r} of {config.plan_workflow!r} is on day {step.day}, after "
            f"plan_grace_days: {grace}: by then the plan has broken, so it never goes; set "
            f"plan_grace_days: {step.day} or more, or move the step",
        )
        for step in chaser.model.steps
        if step.day > grace
    ]


def _unknown_workflow(name: str, workflows: dict[str, LoadedWorkflow]) -> str:
    known = ", ".join(sorted(workflows)) or "none"
    return f"no workflow {name!r} (workflows: {known}); the id is the file name without .yaml"


def _check_workflow(
    wf: LoadedWorkflow,
    config: Config,
    workflows: dict[str, LoadedWorkflow],
    templates: Templates,
    broken: set[str],
    roles: set[str] | None = None,
    warnings: list[Problem] | None = None,
) -> list[Problem]:
    """One workflow's references: step ids, the workflows it goes on to, its people, the
    templates its notices and actions use and what its emails attach."""
    check = _WorkflowCheck(wf, config, templates, roles, warnings)
    m = wf.model
    check.step_ids()
    for key in ("then", "on_broken_promise"):
        target = getattr(m, key)
        if target is not None and target not in workflows and target not in broken:
            check.add((key,), _unknown_workflow(target, workflows))
        elif target in workflows and workflows[target].model.is_campaign:
            check.add((key,), _campaign_target(target))
    if m.owner is not None:
        check.person(("owner",), m.owner, roles=())
    check.notify_on()
    for loc, action in workflow_actions(wf):
        check.action(loc, action)
    return check.problems


class _WorkflowCheck:
    """The problems found in one workflow, each at its line in the file."""

    def __init__(
        self,
        wf: LoadedWorkflow,
        config: Config,
        templates: Templates,
        roles: set[str] | None = None,
        warnings: list[Problem] | None = None,
    ):
        self.wf = wf
        self.config = config
        self.templates = templates
        self.roles = roles  # the customers' contact roles (None: any name may be one)
        self.warnings = warnings
        self.problems: list[Problem] = []
        self.notify_use = "json" if config.channels.notify.transport == "webhook" else "email"

    def add(self, loc: tuple, message: str) -> None:
        wf = self.wf
        self.problems.append(
            Problem(wf.display, wf.located.line(loc), ".".join(map(str, loc)), message)
        )

    def person(self, loc: tuple, name: str, roles: tuple[str, ...] = PEOPLE_ROLES) -> None:
        """`name` must be one of `people:` (or one of `roles`)."""
        people = self.config.people
        if name not in people and name not in roles:
            known = ", ".join(sorted(people)) or "none defined"
            self.add(
                loc,
                f"unknown person {name!r}: add it under people: in arflow.yaml (people: {known})",
            )

    def step_ids(self) -> None:
        seen: dict[str, int] = {}
        for i, step in enumerate(self.wf.model.steps):
            if step.step_id in seen:
                self.add(
                    ("steps", i, "id") if step.id else ("steps", i),
                    f"step id {step.step_id!r} is used twice (also steps.{seen[step.step_id]}); "
                    "give each step a unique id:",
                )
            seen.setdefault(step.step_id, i)

    def notify_on(self) -> None:
        """Each `notify_on:` event's template must be there."""
        templates = self.templates
        for n, event in enumerate(self.wf.model.notify_on):
            template = FINISH_TEMPLATE if event == "finish" else PAUSE_TEMPLATE
            missing = templates.missing(template, self.notify_use)
            if missing:
                self.add(
                    ("notify_on", n),
                    f"notify_on: {event} tells the owner with the template "
                    f"{template!r}: add {' and '.join(missing)} to "
                    f"{self.config.named(templates.directory)}/",
                )

    def action(self, loc: tuple, action: Action) -> None:
        """An action's template, and the people it names."""
        kind, spec = action.kind, action.spec
        uses = {"email": "email", "sms": "sms", "notify": self.notify_use, "webhook": "json"}
        if kind in uses:
            missing = self.templates.missing(spec.template, uses[kind])
            if missing:
                self.add(
                    (*loc, kind, "template"),
                    f"template {spec.template!r} needs "
                    f"{' and '.join(missing)} in {self.config.named(self.templates.directory)}/",
                )
        if kind in ("email", "sms"):
            self.to_roles(loc, kind, spec.to)
        if kind == "email":
            self.email(loc, spec)
        elif kind == "notify":
            if not spec.to and self.wf.model.owner is None:
                self.add((*loc, kind), "notify needs to: PERSON, or owner: on the workflow")
            for n, who in enumerate(spec.to):
                self.person((*loc, kind, "to", n), who)
        elif kind == "task":
            self.person((*loc, kind, "assignee"), spec.assignee)
        elif kind == "assign":
            self.person((*loc, kind, "specialist"), spec.specialist, roles=())

    def email(self, loc: tuple, spec: EmailAction) -> None:
        """cc: and bcc: name addresses or people; attach: is for campaigns, and may need a
        package."""
        for field in ("cc", "bcc"):
            for n, who in enumerate(getattr(spec, field)):
                if "@" not in who and (self.roles is not None and who.lower() not in self.roles):
                    self.person((*loc, "email", field, n), who)

        for n, name in enumerate(spec.attach):
            if loc[0] != "actions":
                self.add(
                    (*loc, "email", "attach", n),
                    f"attach: {name} is a campaign's statement; "
                    "a workflow with steps: has none to attach (move this email into a "
                    "campaign, or remove attach:)",
                )
            elif (package := missing_package(name)) is not None:
                self.add((*loc, "email", "attach", n), package)

    def to_roles(self, loc: tuple, kind: str, roles: list[str]) -> None:
        """Issue 33: a `to:` role no contact has falls back to billing: said, not refused."""
        for n, role in enumerate(roles):
            if (
                self.roles is not None
                and role.lower() not in self.roles
                and self.warnings is not None
            ):
                wf = self.wf
                self.warnings.append(
                    Problem(
                        wf.display,
                        wf.located.line((*loc, kind, "to", n)),
                        ".".join(map(str, (*loc, kind, "to", n))),
                        f"no contact has the role {role!r} (roles: "
                        f"{', '.join(sorted(self.roles))}): the step goes to each customer's "
                        "billing contact",
                    )
                )


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
                        "makes a cycle: "
                        + " → ".join([*path, start])
                        + "; end the chain in a workflow without then:",
                    )
                )
    return problems
