"""Payment plans (issue 32): an agreed schedule of instalments for a customer's invoices.

`schedule` splits a plan's total into instalments; `standing` says where a plan stands on a
day (each instalment met, due or missed; the plan on track, broken, complete or cancelled);
`night` puts that into tonight's plan: the invoices of a plan on track are on hold, each unmet
instalment is chased by `plan_workflow:` as an item of its own (`PLAN-ID.N`), and a broken
plan's invoices resume in `on_broken_plan:`, its specialist told once; `listing` is what
`arflow plans` and `arflow status` show of them.

Words: an instalment is *met* once what was paid on the plan's invoices (the plan's total less
their open balances now) reaches what was due up to it, or falls short by `min_balance:` at
most; it is *missed* when it is not met
`plan_grace_days:` after its day; a plan is *broken* from the day after its first missed
instalment's grace ends.
"""

BROKEN_TEMPLATE = "plan-broken"  # the specialist's notice of a broken plan
LIBRARY_WORKFLOW = "payment-plan"  # the plan workflow arflow ships
