"""`credit_hold:` in arflow.yaml (issue 33): when a customer enters hold and leaves it, and
what each event does."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from arflow.action_specs import Action
from arflow.modelcheck import STRICT
from arflow.workflow import Condition

HOLD_KINDS = ("notify", "webhook")  # what a hold's event may do: tell people or a system


def _hold_action(action: Action) -> Action:
    """An action a hold's event may take: a notice to people named, or a webhook."""
    if action.kind not in HOLD_KINDS:
        raise ValueError(
            f"{action.kind}: is not an action of a hold's event; it tells people "
            "(notify: {to: PERSON, template: NAME}) or a system (webhook: {url: URL, "
            "template: NAME})"
        )
    if action.kind == "notify" and not action.spec.to:
        raise ValueError(
            "notify needs to: (a key of people:, or specialist: the customer's); a hold "
            "has no workflow owner"
        )
    return action


HoldAction = Annotated[Action, AfterValidator(_hold_action)]


class CreditHold(BaseModel):
    model_config = STRICT

    enter: list[Condition] = Field(min_length=1)
    release: list[Condition] = Field(min_length=1)
    notify: str | None = None  # a key of people:, told of each entry and release
    on_hold: list[HoldAction] = Field([], max_length=20)
    on_release: list[HoldAction] = Field([], max_length=20)

    def actions(self, event: str, templates: dict[str, str]) -> list[Action]:
        """The actions of an event (`hold` or `release`): `notify:`'s notice first (its
        template from `templates`), then `on_hold:` or `on_release:`."""
        own = list(self.on_hold if event == "hold" else self.on_release)
        if self.notify is None:
            return own
        short = Action.model_validate(
            {"notify": {"to": [self.notify], "template": templates[event]}}
        )
        return [short, *own]
