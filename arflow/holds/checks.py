"""`validate`'s checks of `credit_hold:` against the rest of the folder (issue 33): the people
its notices go to, and the templates they use."""

from __future__ import annotations

from arflow.config import Config
from arflow.errors import Problem
from arflow.holds import TEMPLATES
from arflow.render import Templates

TO_ANYONE = ("specialist",)  # words a hold's notify: to: may use beside people's keys


def hold_problems(config: Config, templates: Templates) -> list[Problem]:
    """Each person `credit_hold:` names is a key of people: with an email (or an address, or
    `specialist`), and each template its actions use is there."""
    settings = config.credit_hold
    if settings is None:
        return []
    found = []
    shown = config.display(config.path)
    known = ", ".join(sorted(config.people)) or "none"
    if settings.notify is not None:
        person = config.people.get(settings.notify)
        where: tuple[str, ...] = ("credit_hold", "notify")
        if person is None:
            message = (
                f"{settings.notify!r} is not a key of people: (they are: {known}); add them "
                "under people: with an email, or name one of them"
            )
            found.append(Problem(shown, config.line(*where), ".".join(where), message))
        elif not person.email:
            message = f"{settings.notify!r} has no email: under people: (the notices are emails)"
            found.append(Problem(shown, config.line(*where), ".".join(where), message))
        for event, template in TEMPLATES.items():
            found += _template(config, templates, template, where, "notice", event)
    for key in ("on_hold", "on_release"):
        for n, action in enumerate(getattr(settings, key)):
            where = ("credit_hold", key, str(n))
            line = config.line("credit_hold", key, n)  # type: ignore[arg-type]
            if action.kind == "notify":
                for name in action.spec.to:
                    if name not in config.people and name not in TO_ANYONE and "@" not in name:
                        message = (
                            f"to: {name!r} is not a key of people: (they are: {known}) nor "
                            "specialist (the customer's) nor an address"
                        )
                        found.append(Problem(shown, line, ".".join(where), message))
            found += _template(
                config, templates, action.spec.template, where, action.kind, key, line
            )
    return found


def _template(
    config: Config,
    templates: Templates,
    name: str,
    where: tuple[str, ...],
    kind: str,
    event: str,
    line: int | None = None,
) -> list[Problem]:
    """The template `name` of a hold's notice or webhook, or the problem that it is missing."""
    webhook = kind == "webhook" or config.channels.notify.transport == "webhook"
    missing = templates.missing(name, "json" if webhook else "email")
    if not missing:
        return []
    return [
        Problem(
            config.display(config.path),
            line if line is not None else config.line(*where),
            ".".join(where),
            f"the {event} {kind} uses the template {name!r}: add {' and '.join(missing)} to "
            f"{config.named(templates.directory)}/",
        )
    ]
