"""The planner's helpers, beside its entry point `arflow.engine.plan` (SPEC 4).

Pure functions and their data: no clock, no files, no network. `plan_types` is the planner's
data; `matching` decides which workflow each open invoice follows today; `schedule` the step
dates; `occurrences` and `campaigns` a campaign's calendar and audience; `campaign_metrics` a
campaign's figures; `positions` each customer's place for `arflow status`; `past_state` what
the planner knows of the past, derived from the state database's rows (`read_past_state`, the
one function here that reads anything: the state database, one query per table).
"""
