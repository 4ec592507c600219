"""A workflow's actions (SPEC 3): one model per kind, and `Action`, the list item that holds
exactly one of them, written in full (`email: {template: courtesy}`) or in shorthand
(`email: courtesy`)."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from arflow.calendar import MAX_OFFSET_DAYS
from arflow.modelcheck import STRICT, WebAddress, as_list


class Strict(BaseModel):
    model_config = STRICT


class EmailAction(Strict):
    template: str
    to: list[str] = []  # the customer's contact roles (issue 33); empty: `billing`
    cc: list[str] = []
    bcc: list[str] = []
    attach: list[Literal["statement.csv", "statement.pdf"]] = []

    _lists = field_validator("to", "cc", "bcc", "attach", mode="before")(
        classmethod(lambda cls, v: as_list(v))
    )


class SmsAction(Strict):
    template: str
    to: list[str] = []  # the customer's contact roles (issue 33); empty: `billing`

    _lists = field_validator("to", mode="before")(classmethod(lambda cls, v: as_list(v)))


class NotifyAction(Strict):
    to: list[str] = []  # people; empty means the workflow's owner
    template: str

    _lists = field_validator("to", mode="before")(classmethod(lambda cls, v: as_list(v)))


class StatusAction(Strict):
    value: str


class TaskAction(Strict):
    title: str
    kind: str = "call"
    assignee: str = "specialist"
    due_in: int = Field(0, ge=0)

    @field_validator("due_in")
    @classmethod
    def _due_in(cls, value: int) -> int:
        if value > MAX_OFFSET_DAYS:
            raise ValueError(
                f"{value} days is more than {MAX_OFFSET_DAYS} (ten years); a task "
                f"is due in 0 to {MAX_OFFSET_DAYS} days"
            )
        return value


class NoteAction(Strict):
    text: str


class AssignAction(Strict):
    specialist: str


class ChargeFeesAction(Strict):
    """`- charge_fees: true`: charge the step's invoices their late fees (issue 31)."""


class WebhookAction(Strict):
    url: WebAddress
    template: str


ACTION_MODELS: dict[str, type[Strict]] = {
    "email": EmailAction,
    "sms": SmsAction,
    "notify": NotifyAction,
    "status": StatusAction,
    "task": TaskAction,
    "note": NoteAction,
    "assign": AssignAction,
    "webhook": WebhookAction,
    "charge_fees": ChargeFeesAction,
}
# `- email: courtesy` is `- email: {template: courtesy}`; webhook has no shorthand
SHORTHAND = {
    "email": "template",
    "sms": "template",
    "notify": "template",
    "status": "value",
    "task": "title",
    "note": "text",
    "assign": "specialist",
}


class Action(Strict):
    """One action: exactly one of the keys below, in shorthand or full form."""

    email: EmailAction | None = None
    sms: SmsAction | None = None
    notify: NotifyAction | None = None
    status: StatusAction | None = None
    task: TaskAction | None = None
    note: NoteAction | None = None
    assign: AssignAction | None = None
    webhook: WebhookAction | None = None
    charge_fees: ChargeFeesAction | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"an action is a mapping such as `email: TEMPLATE`, not {data!r}; "
                f"actions are {', '.join(ACTION_MODELS)}"
            )
        kinds = [k for k in data if k in ACTION_MODELS]
        if len(kinds) > 1:
            raise ValueError(
                f"one action per list item, found {', '.join(kinds)}; put each on its own `- ` line"
            )
        out = dict(data)
        for kind in kinds:
            value = data[kind]
            if kind == "charge_fees" and not isinstance(value, dict):
                if value is not True:
                    raise ValueError(
                        f"charge_fees: true, not {value!r}; to charge nothing, remove it"
                    )
                out[kind] = {}
                continue
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                if kind not in SHORTHAND:
                    raise ValueError(f"{kind} needs the full form {{url: ..., template: ...}}")
                out[kind] = {SHORTHAND[kind]: str(value)}
        return out

    @model_validator(mode="after")
    def _one(self) -> Action:
        if self.kind is None:
            raise ValueError(f"empty action; use one of {', '.join(ACTION_MODELS)}")
        return self

    @cached_property
    def kind(self) -> str:
        for name in ACTION_MODELS:
            if getattr(self, name) is not None:
                return name
        raise ValueError("an action names no kind")  # the model's validator rules it out

    @cached_property
    def spec(self) -> Any:
        return getattr(self, self.kind)
