"""A campaign's notices tell of its statement (SPEC 4.10): `statement-internal` tells the
controller the statement was sent. So a notice (`actions.NOTICES`: a `notify` or a `webhook` of
the campaign) goes only once every customer-facing message of its statement that goes in this
run went (`PlannedAction.waits_for`, set by the planner, which puts the notices after them).

When one of them did not go, neither does the notice. While the statement is tried again (a
transient failure, a message that could not be made, a contact skipped) the notice waits with
it: not recorded, so it goes with the statement on a later run. Once the statement's outcome
is settled without it having gone (a permanent failure, an outcome unknown), the notice is
recorded as skipped `statement-not-sent` and never goes. Either way the run lists it as
skipped `statement-not-sent`.
"""

from __future__ import annotations

from arflow.channels import Outcome
from arflow.planner.plan_types import ActionKey, Plan, PlannedAction, Skip

NOT_SENT = "statement-not-sent"
# what counts as gone: sent, and in a dry run a message that would have been
WENT = frozenset({"sent", "planned"})


class StatementNotices:
    """What a run's statements did, for their notices: the keys of the messages that went, and
    of those settled without going."""

    def __init__(self) -> None:
        self._went: set[ActionKey] = set()
        self._lost: set[ActionKey] = set()
        self._held: list[PlannedAction] = []

    def delivered(self, action: PlannedAction, outcome: Outcome) -> None:
        """A message's outcome (only a statement's are kept)."""
        if action.statement is None:
            return
        if outcome.state in WENT:
            self._went.update(action.keys)
        elif outcome.state == "unknown" or outcome.permanent:
            self._lost.update(action.keys)

    def held(self, action: PlannedAction) -> bool | None:
        """None: the action goes (no notice, or its statement went). Else it is held back:
        True when it is to be recorded as skipped for good (its statement's outcome is
        settled without it having gone), False when it waits for the statement."""
        if not action.waits_for or self._went.issuperset(action.waits_for):
            return None
        self._held.append(action)
        return not self._lost.isdisjoint(action.waits_for)

    def skip_held(self, plan: Plan) -> None:
        """The notices held back, out of the plan's actions and into its skips."""
        if not self._held:
            return
        held = {id(action) for action in self._held}
        plan.actions = [a for a in plan.actions if id(a) not in held]
        plan.skipped += [
            Skip(a.workflow, a.step, a.customer_id, a.invoices, NOT_SENT, list(a.keys))
            for a in self._held
        ]
