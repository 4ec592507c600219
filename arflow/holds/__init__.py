"""Credit hold (issue 33): the customers not to ship to, entered and released by conditions.

`credit_hold: {enter: [CONDITION…], release: [CONDITION…], notify: PERSON}` in arflow.yaml, in
the language of a campaign's conditions (`planner.campaign_metrics`: `overdue`, `overdue_pct`,
`days_past_due`, `outstanding` and their `consolidated_*` forms, per currency group). A
customer enters hold when every `enter` condition holds for one currency group (as a
campaign's conditions), and is released when every `release` condition holds for each of its
currency groups (with nothing owed, its totals are zero); between the two it stays as it is.

- `settings` — the model of `credit_hold:` (in arflow.yaml's);
- `night` — what a run sees: who enters and leaves tonight, and the actions each event owes
  (`on_hold:`/`on_release:`, `notify:`), keyed once per event;
- `checks` — what `validate` checks of it against the folder (people, templates);
- `listing` — `arflow holds`, a run's entries and releases as it prints them, and a
  customer's hold for `status`.

The events live in the state (`arflow.state.holds`, table `hold_events`); a real run records
them once nothing stops it (`deliver._begin`), a dry run and `forecast` never.
"""

from __future__ import annotations

HOLDS = "credit_hold"  # the workflow name of a hold's actions (no workflow file has it)
HOLD = "hold"  # an event: the customer entered hold
RELEASE = "release"  # an event: the customer left it
# the templates of `notify:`'s notices
TEMPLATES = {HOLD: "credit-hold", RELEASE: "credit-release"}
# a skip: an event's action whose sends kept failing, given up once the event is a week old;
# the run reports it as an error (exit 3) and `history` lists it
DROPPED = "notice-dropped"
NOTICE_DAYS = 7  # an event's actions not carried out within a week are old news: dropped
