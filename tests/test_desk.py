"""The collections desk over several days (SPEC 4.5–4.8): real commands against a real state
file and the file outbox — assign → run → pause → run → promise → run … — asserting exactly
which actions happened on each day."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import SIMPLE_TEMPLATES, make_folder

CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}
invoices: {path: invoices.csv}
customers: {path: customers.csv}
people:
  controller: {name: Chris Doe, email: controller@acme.example}
  dana: {name: Dana Roe, email: dana@acme.example, specialist: true}
  lee: {name: Lee Poe, email: lee@acme.example, specialist: true}
channels:
  email: {transport: outbox, dir: outbox}
  sms: {transport: outbox, dir: outbox}
"""

CUSTOMERS = """\
customer_id,name,email,phone,specialist
C1,Alpha Ltd,ap@alpha.example,+12025550101,dana
C2,Beta Ltd,ap@beta.example,+12025550102,dana
C3,Gamma Ltd,ap@gamma.example,,
"""

INVOICES = """\
number,customer_id,issue_date,due_date,amount,paid_date
A1,C1,2026-03-01,2026-03-31,100.00,
A2,C1,2026-03-05,2026-04-04,50.00,
B1,C2,2026-03-01,2026-03-31,200.00,
G1,C3,2026-03-01,2026-03-31,300.00,
"""

# counted from the assignment date, like the AR Workflow of seeds 001/003
PTP = """\
name: Promise to pay
anchor: assigned
owner: controller
notify_on: [finish, pause]
steps:
  - id: welcome
    day: 0
    actions:
      - email: reminder
  - id: call
    day: 3
    actions:
      - task: {title: "Call {{ customer.name }}", assignee: specialist, due_in: 1}
  - id: last
    day: 7
    actions:
      - email: reminder
      - status: Promise overdue
then: late-fees
on_paid:
  - notify: {to: controller, template: internal}
"""

LATE_FEES = """\
name: Late fees
anchor: assigned
steps:
  - id: warn
    day: 0
    actions:
      - email: reminder
  - id: fee
    day: 5
    actions:
      - sms: reminder
      - note: "Add the late fee for {{ customer.name }}"
"""

BY_DUE = """\
name: By due date
anchor: due_date
steps:
  - id: d1
    day: 1
    actions:
      - email: reminder
  - id: d10
    day: 10
    actions:
      - email: reminder
on_paid:
  - notify: {to: controller, template: internal}
on_broken_promise: late-fees
"""

NOTICES = {
    "workflow-finished.subject.j2": "{{ customer.name }} finished {{ workflow.name }}",
    "workflow-finished.txt.j2": "{{ customer.name }} reached the end of {{ workflow.name }}.",
    "workflow-paused.subject.j2": "{{ customer.name }} paused in {{ workflow.name }}",
    "workflow-paused.txt.j2": "{{ customer.name }} is paused.",
}


@pytest.fixture
def desk(tmp_path, cli):
    """A folder with the workflows above; returns helpers bound to it."""

    class Desk:
        def __init__(self, invoices=INVOICES, default="by-due", workflows=None):
            config = CONFIG + (f"default_workflow: {default}\n" if default else "")
            self.config = make_folder(
                tmp_path / "ar",
                invoices=invoices,
                config=config,
                workflows=workflows or {"ptp": PTP, "late-fees": LATE_FEES, "by-due": BY_DUE},
                templates={**SIMPLE_TEMPLATES, **NOTICES},
                extra_files={"customers.csv": CUSTOMERS},
            )
            self.root = self.config.parent

        def __call__(self, *args, expect=0):
            return cli(*args, "--config", self.config, expect=expect)

        def run(self, day: str, expect=0) -> list[tuple]:
            """A real run; (customer, workflow, step, action, invoices, status) per action."""
            doc = json.loads(self("run", "--format", "json", "--as-of", day, expect=expect).stdout)
            self.last = doc
            return [
                (
                    a["customer_id"],
                    a["workflow"],
                    a["step"],
                    a["action"],
                    a["invoices"],
                    a["status"],
                )
                for a in doc["actions"]
            ]

        def steps(self, day: str, expect=0) -> list[tuple]:
            return [a[:3] for a in self.run(day, expect)]

        def status(self, *args) -> dict:
            doc = json.loads(self("status", "--format", "json", *args).stdout)
            return {c["customer_id"]: c for c in doc["customers"]}

        def pay(self, number: str, day: str) -> None:
            path = self.root / "invoices.csv"
            lines = path.read_text().splitlines()
            lines = [line + day if line.startswith(number + ",") else line for line in lines]
            path.write_text("\n".join(lines) + "\n")

        def db(self):
            return sqlite3.connect(self.root / "arflow.db")

    return Desk


# --- assignment (SPEC 4.5) -----------------------------------------------------------------------
def test_assign_counts_an_assigned_workflow_from_the_assignment_date(desk):
    d = desk(default=None)
    d("assign", "C1", "C2", "--workflow", "ptp", "--date", "2026-04-10")
    assert d.steps("2026-04-09") == []  # before the assignment date
    assert d.steps("2026-04-10") == [("C1", "ptp", "welcome"), ("C2", "ptp", "welcome")]
    assert d.last["actions"][0]["invoices"] == ["A1", "A2"]  # the customer's open invoices
    assert d.steps("2026-04-12") == []
    assert d.steps("2026-04-13") == [("C1", "ptp", "call"), ("C2", "ptp", "call")]
    assert d.steps("2026-04-13") == []  # a rerun sends nothing new
    assert d.steps("2026-04-17") == [
        ("C1", "ptp", "last"),
        ("C1", "ptp", "last"),
        ("C1", "ptp", "finish"),
        ("C2", "ptp", "last"),
        ("C2", "ptp", "last"),
        ("C2", "ptp", "finish"),
    ]
    # C3 was never assigned and there is no default: nothing at all
    assert not any(r[0] == "C3" for r in d.run("2026-04-20"))


def test_assign_without_a_date_starts_with_the_next_run_and_a_bulk_file_works(desk):
    d = desk(default=None)
    (d.root / "ids.txt").write_text("# promise-to-pay list\nC1\n\nC2  # called on Monday\n")
    out = d("assign", "--file", d.root / "ids.txt", "--workflow", "ptp").stdout
    assert "Assigned 2 customer(s) to ptp: C1, C2" in out
    assert d.steps("2026-05-02") == [("C1", "ptp", "welcome"), ("C2", "ptp", "welcome")]
    assert d.steps("2026-05-05") == [("C1", "ptp", "call"), ("C2", "ptp", "call")]


def test_reassignment_starts_the_new_workflows_sequence(desk):
    d = desk(default=None)
    d("assign", "C1", "--workflow", "ptp", "--date", "2026-04-10")
    assert d.steps("2026-04-10") == [("C1", "ptp", "welcome")]
    d("assign", "C1", "--workflow", "late-fees", "--date", "2026-04-12")
    assert d.steps("2026-04-12") == [("C1", "late-fees", "warn")]
    assert d.steps("2026-04-13") == []  # ptp's call step is gone with it
    assert d.steps("2026-04-17") == [("C1", "late-fees", "fee"), ("C1", "late-fees", "fee")]
    with d.db() as conn:
        assert conn.execute(
            "SELECT workflow, since, ended_on, end_reason FROM sequences ORDER BY id"
        ).fetchall() == [
            ("ptp", "2026-04-10", "2026-04-12", "reassigned"),
            ("late-fees", "2026-04-12", None, None),
        ]


def test_explicit_assignment_beats_the_default_and_unassign_falls_back(desk):
    d = desk()
    d("assign", "C2", "--workflow", "ptp", "--date", "2026-04-01")
    assert d.steps("2026-04-01") == [
        ("C1", "by-due", "d1"),
        ("C2", "ptp", "welcome"),
        ("C3", "by-due", "d1"),
    ]
    out = d("unassign", "C2", "C3").stdout
    assert "Unassigned 1 customer(s): C2" in out and "left as they were: C3" in out
    # C2 is back on the default: by-due's d1 is due for B1 (due 03-31)
    assert d.steps("2026-04-02") == [("C2", "by-due", "d1")]


def test_assign_reports_unknown_customers_and_workflows_but_assigns_the_rest(desk):
    d = desk(default=None)
    result = d("assign", "C1", "C9", "--workflow", "ptp", "--date", "2026-04-10", expect=3)
    assert "Assigned 1 customer(s) to ptp from 2026-04-10: C1" in result.stdout
    assert "no customer C9 in the sources" in result.output
    result = d("assign", "C1", "--workflow", "nope", expect=1)
    assert "no workflow 'nope'" in result.output
    assert d.steps("2026-04-10") == [("C1", "ptp", "welcome")]


# --- pauses and promises (SPEC 4.6) --------------------------------------------------------------
def test_pausing_a_customer_stops_its_messages_until_resumed(desk):
    d = desk()
    d("pause", "customer", "C1", "--reason", "in dispute")
    assert d.steps("2026-04-01") == [("C2", "by-due", "d1"), ("C3", "by-due", "d1")]
    assert d.steps("2026-04-02") == []
    d("resume", "customer", "C1")
    # A1 (due 03-31) is on d1 since 04-01; A2 (due 04-04) not yet due
    assert d.steps("2026-04-03") == [("C1", "by-due", "d1")]
    assert d.last["actions"][0]["invoices"] == ["A1"]


def test_a_paused_invoice_leaves_the_messages_but_stays_in_the_totals(desk):
    d = desk()
    d("pause", "invoice", "A1", "--until", "2026-04-20", "--as-of", "2026-04-01")
    assert d.run("2026-04-05")[0][:5] == ("C1", "by-due", "d1", "email", ["A2"])
    c1 = d.status("C1", "--as-of", "2026-04-05")["C1"]
    assert c1["open"] == {"USD": "150.00"} and c1["overdue"] == {"USD": "150.00"}
    assert [p["target"] for p in c1["pauses"]] == ["A1"]
    assert d.steps("2026-04-14") == [
        ("C1", "by-due", "d10"),
        ("C2", "by-due", "d10"),
        ("C3", "by-due", "d10"),
    ]
    assert d.last["actions"][0]["invoices"] == ["A2"]
    assert d.steps("2026-04-20") == []  # A1 is paused through the 20th
    # the 21st: A1 is chased again; d1 and d10 are both due, catch_up: latest → d10 only
    assert d.run("2026-04-21")[0][:5] == ("C1", "by-due", "d10", "email", ["A1"])
    assert [(s["workflow"], s["step"], s["invoices"], s["reason"]) for s in d.last["skipped"]] == [
        ("by-due", "d1", ["A1"], "superseded")
    ]


def test_a_promise_holds_chasing_and_a_kept_one_ends_with_on_paid(desk):
    d = desk()
    d("promise", "B1", "--date", "2026-04-15", "--as-of", "2026-03-31")
    assert d.steps("2026-04-01") == [("C1", "by-due", "d1"), ("C3", "by-due", "d1")]
    assert d.steps("2026-04-10") == [
        ("C1", "by-due", "d1"),
        ("C1", "by-due", "d10"),
        ("C3", "by-due", "d10"),
    ]
    d.pay("B1", "2026-04-14")
    # B1 had no step run (the promise came first): it is paid, but no on_paid for it
    assert [s for s in d.steps("2026-04-16") if s[0] == "C2"] == []
    d.pay("A1", "2026-04-16")
    assert d.run("2026-04-17") == [("C1", "by-due", "on_paid", "notify", ["A1"], "sent")]
    assert d.run("2026-04-18") == []  # once only


def test_a_broken_promise_resumes_the_next_day_in_on_broken_promise(desk):
    d = desk()
    assert d.steps("2026-04-01") == [
        ("C1", "by-due", "d1"),
        ("C2", "by-due", "d1"),
        ("C3", "by-due", "d1"),
    ]
    out = d(
        "promise", "B1", "--date", "2026-04-15", "--amount", "200", "--as-of", "2026-04-01"
    ).stdout
    assert "B1 to be paid by 2026-04-15" in out
    assert [s for s in d.steps("2026-04-10") if s[0] == "C2"] == []  # d10 held
    assert d.status("--as-of", "2026-04-15")["C2"]["promises"][0]["state"] == "pending"
    assert [s for s in d.steps("2026-04-15") if s[0] == "C2"] == []
    # not paid by the 15th: on the 16th C2's B1 continues in late-fees, counted from the 16th
    assert d.steps("2026-04-16") == [("C2", "late-fees", "warn")]
    assert d.status("--as-of", "2026-04-16")["C2"]["promises"][0]["state"] == "broken"
    assert d.steps("2026-04-21") == [("C2", "late-fees", "fee"), ("C2", "late-fees", "fee")]


def test_a_broken_promise_without_on_broken_promise_resumes_the_same_workflow(desk):
    d = desk(workflows={"by-due": BY_DUE.replace("on_broken_promise: late-fees\n", "")})
    d("promise", "A1", "--date", "2026-04-05", "--as-of", "2026-04-01")
    assert d.run("2026-04-05")[0][:5] == ("C1", "by-due", "d1", "email", ["A2"])
    assert [s for s in d.steps("2026-04-05") if s[0] == "C1"] == []
    assert d.run("2026-04-06")[0][:5] == ("C1", "by-due", "d1", "email", ["A1"])


def test_resume_invoice_cancels_its_promise(desk):
    d = desk()
    d("promise", "A1", "--date", "2026-05-30", "--as-of", "2026-04-01")
    out = d("resume", "invoice", "A1").stdout
    assert "cancelled 1 promise(s)" in out
    assert d.run("2026-04-01")[0][:5] == ("C1", "by-due", "d1", "email", ["A1"])


def test_pause_and_promise_name_the_unknown_target(desk):
    d = desk()
    assert "no invoice 'Z9'" in d("promise", "Z9", "--date", "2026-04-15", expect=2).output
    assert "no customer 'C9'" in d("pause", "customer", "C9", expect=2).output
    assert d("pause", "vendor", "C1", expect=2).exit_code == 2


# --- payment and chaining (SPEC 4.7, 4.8) --------------------------------------------------------
def test_on_paid_runs_once_per_target_that_had_a_step_run(desk):
    d = desk()
    assert d.steps("2026-04-01") == [
        ("C1", "by-due", "d1"),
        ("C2", "by-due", "d1"),
        ("C3", "by-due", "d1"),
    ]
    d.pay("A1", "2026-04-03")
    d.pay("A2", "2026-04-03")  # A2 was never chased: no on_paid for it
    d.pay("B1", "2026-04-03")
    assert d.run("2026-04-03") == [
        ("C1", "by-due", "on_paid", "notify", ["A1"], "sent"),
        ("C2", "by-due", "on_paid", "notify", ["B1"], "sent"),
    ]
    assert d.run("2026-04-04") == []
    assert d.run("2026-04-10") == [("C3", "by-due", "d10", "email", ["G1"], "sent")]


def test_an_assigned_sequence_is_paid_when_none_of_the_customers_invoices_is_open(desk):
    d = desk(default=None)
    d("assign", "C1", "--workflow", "ptp", "--date", "2026-04-10")
    assert d.steps("2026-04-10") == [("C1", "ptp", "welcome")]
    d.pay("A1", "2026-04-11")
    assert d.steps("2026-04-11") == []  # A2 still open
    assert d.steps("2026-04-13") == [("C1", "ptp", "call")]
    assert d.last["actions"][0]["invoices"] == ["A2"]
    d.pay("A2", "2026-04-14")
    assert d.run("2026-04-14") == [("C1", "ptp", "on_paid", "notify", ["A1", "A2"], "sent")]
    assert d.steps("2026-04-17") == []  # the sequence ended
    with d.db() as conn:
        assert conn.execute("SELECT since, ended_on, end_reason FROM sequences").fetchall() == [
            ("2026-04-10", "2026-04-14", "paid")
        ]


def test_then_starts_the_next_workflow_the_day_after_the_last_step(desk):
    d = desk(default=None)
    d("assign", "C1", "--workflow", "ptp", "--date", "2026-04-10")
    d.steps("2026-04-10")
    d.steps("2026-04-13")
    assert d.steps("2026-04-17") == [
        ("C1", "ptp", "last"),
        ("C1", "ptp", "last"),
        ("C1", "ptp", "finish"),
    ]
    c1 = d.status("--as-of", "2026-04-17")["C1"]
    assert [
        (w["workflow"], w["last_step"], w["next_step"], w["finished"]) for w in c1["workflows"]
    ] == [("ptp", "last", None, True)]
    assert c1["status"] == "Promise overdue"
    # the day after: late-fees starts, its assigned anchor is the 18th
    assert d.steps("2026-04-18") == [("C1", "late-fees", "warn")]
    assert d.status("--as-of", "2026-04-19")["C1"]["workflows"][0] == {
        "workflow": "late-fees",
        "name": "Late fees",
        "source": "chain",
        "since": "2026-04-18",
        "last_step": "warn",
        "last_date": "2026-04-18",
        "next_step": "fee",
        "next_date": "2026-04-23",
        "finished": False,
        "invoices": ["A1", "A2"],
    }
    assert d.steps("2026-04-23") == [("C1", "late-fees", "fee"), ("C1", "late-fees", "fee")]


def test_a_due_date_workflow_chains_per_invoice(desk):
    flow = BY_DUE.replace("on_broken_promise: late-fees\n", "then: late-fees\n")
    d = desk(workflows={"by-due": flow, "late-fees": LATE_FEES})
    assert d.steps("2026-04-01") == [
        ("C1", "by-due", "d1"),
        ("C2", "by-due", "d1"),
        ("C3", "by-due", "d1"),
    ]
    assert d.steps("2026-04-10") == [
        ("C1", "by-due", "d1"),
        ("C1", "by-due", "d10"),
        ("C2", "by-due", "d10"),
        ("C3", "by-due", "d10"),
    ]
    # A1, B1 and G1 finished by-due on the 10th; A2 (due 04-04) has d10 on the 14th
    assert d.run("2026-04-11") == [
        ("C1", "late-fees", "warn", "email", ["A1"], "sent"),
        ("C2", "late-fees", "warn", "email", ["B1"], "sent"),
        ("C3", "late-fees", "warn", "email", ["G1"], "sent"),
    ]


# --- non-message actions and tasks (SPEC 5) ------------------------------------------------------
def test_task_note_status_and_assign_report_done_and_tasks_can_be_finished(desk):
    flow = """\
anchor: due_date
steps:
  - id: d5
    day: 5
    actions:
      - assign: {specialist: lee}
      - task: {title: "Call {{ customer.name }}", kind: call, assignee: specialist, due_in: 2}
      - note: "Consider a late fee for {{ customer.name }}"
      - status: In collections
"""
    d = desk(workflows={"by-due": flow})
    assert d.run("2026-04-05") == [
        (c, "by-due", "d5", kind, inv, "done")
        for c, inv in (("C1", ["A1"]), ("C2", ["B1"]), ("C3", ["G1"]))
        for kind in ("assign", "task", "note", "status")
    ]
    tasks = json.loads(d("tasks", "--format", "json").stdout)["tasks"]
    assert [(t["id"], t["customer_id"], t["title"], t["assignee"], t["due"]) for t in tasks] == [
        (1, "C1", "Call Alpha Ltd", "lee", "2026-04-07"),
        (2, "C2", "Call Beta Ltd", "lee", "2026-04-07"),
        (3, "C3", "Call Gamma Ltd", "lee", "2026-04-07"),
    ]
    assert "Task 2 done: Call Beta Ltd" in d("tasks", "done", "2").stdout
    assert [
        t["id"]
        for t in json.loads(d("tasks", "--format", "json", "--assignee", "lee").stdout)["tasks"]
    ] == [1, 3]
    assert "no task 9" in d("tasks", "done", "9", expect=2).output
    assert d("tasks", "done", "2", expect=2).stderr.startswith("error: task 2 was already done at ")
    assert d("tasks", "--assignee", "leo", expect=2).stderr == (
        "error: --assignee 'leo' is nobody in people: (people: controller, dana, lee) (2030-01-15T12:00:00Z)\n"
    )
    # the note was emailed to the specialist the assign action had just set
    notes = sorted((d.root / "outbox").glob("*.eml"))
    assert len(notes) == 3 and all("To: Lee Poe <lee@acme.example>" in p.read_text() for p in notes)
    c2 = d.status("C2", "--as-of", "2026-04-06")["C2"]
    assert (c2["status"], c2["specialist"]) == ("In collections", "lee")


# --- workflows (seed 001: clone, delete, enabled) ------------------------------------------------
def test_workflows_list_clone_and_refuse_to_delete_an_assigned_one(desk):
    d = desk(default=None)
    d("assign", "C1", "C2", "--workflow", "ptp")
    rows = json.loads(d("workflows", "--format", "json").stdout)["workflows"]
    assert [(r["id"], r["enabled"], r["steps"], r["assigned"]) for r in rows] == [
        ("by-due", True, 2, []),
        ("late-fees", True, 2, []),
        ("ptp", True, 3, ["C1", "C2"]),
    ]
    assert "Created" in d("workflows", "clone", "ptp", "ptp-strict").stdout
    text = (d.root / "workflows" / "ptp-strict.yaml").read_text()
    assert text.startswith('name: "Promise to pay copy"\n') and "then: late-fees" in text
    d("validate")
    refused = d("workflows", "delete", "ptp", expect=1).output
    assert "ptp has 2 customer(s) assigned: C1, C2" in refused
    assert (d.root / "workflows" / "ptp.yaml").exists()
    assert "continued into by" in d("workflows", "delete", "late-fees", expect=1).output
    d("workflows", "delete", "ptp-strict")
    assert not (d.root / "workflows" / "ptp-strict.yaml").exists()


def test_a_disabled_workflow_never_runs_even_when_assigned(desk):
    d = desk(
        default=None,
        workflows={
            "ptp": PTP.replace("anchor: assigned", "anchor: assigned\nenabled: false"),
            "late-fees": LATE_FEES,
            "by-due": BY_DUE,
        },
    )
    d("assign", "C1", "--workflow", "ptp", "--date", "2026-04-10")
    assert d.run("2026-04-10") == []
    assert d.run("2026-04-20") == []


# --- notifications (seed 001: alerts once a workflow is finished or paused) ----------------------
def test_the_owner_hears_once_when_a_customer_is_paused(desk):
    d = desk(default=None)
    d("assign", "C1", "--workflow", "ptp", "--date", "2026-04-10")
    assert d.steps("2026-04-10") == [("C1", "ptp", "welcome")]
    d("pause", "customer", "C1", "--reason", "disputed")
    assert d.run("2026-04-11") == [("C1", "ptp", "pause-1", "notify", ["A1", "A2"], "sent")]
    assert d.steps("2026-04-13") == []  # paused: no call task, no second notice
    mail = [p.read_text() for p in (d.root / "outbox").glob("*pause-1*.eml")]
    assert len(mail) == 1 and "To: Chris Doe <controller@acme.example>" in mail[0]
    assert "Subject: Alpha Ltd paused in Promise to pay" in mail[0]


# --- the example: the AR Workflow of seeds 001/003 --------------------------------------------
def test_the_example_ar_workflow_over_three_weeks(tmp_path, cli):
    """Assigned by hand and counted from the assignment in business days; a promise pauses one
    invoice and, broken, sends it to the late-fee workflow; the rest chains there at the end."""
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))  # a Monday
    config = tmp_path / "ar" / "arflow.yaml"

    def run(day):
        doc = json.loads(cli("run", "--format", "json", "--as-of", day, "--config", config).stdout)
        return [
            (a["workflow"], a["step"], a["action"], a["invoices"], a["status"])
            for a in doc["actions"]
            if a["customer_id"] == "C002"
        ]

    cli("assign", "C002", "--workflow", "ar-workflow", "--date", "2026-03-16", "--config", config)
    cli("promise", "INV-1003", "--date", "2026-03-20", "--as-of", "2026-03-16", "--config", config)
    ar, fee, one, other = "ar-workflow", "late-fee-warning", ["INV-1002"], ["INV-1003"]
    assert run("2026-03-16") == [
        (ar, "kickoff", "assign", one, "done"),
        (ar, "kickoff", "note", one, "done"),
        (ar, "kickoff", "email", one, "sent"),
        (ar, "promise-1", "notify", other, "sent"),
    ]
    assert run("2026-03-17") == []
    assert run("2026-03-18") == [(ar, "text", "sms", one, "sent")]  # business day 2
    assert run("2026-03-20") == []  # promise day: held
    assert run("2026-03-21") == []  # Saturday
    assert run("2026-03-22") == []
    # Monday: business day 5 of the AR Workflow; the broken promise moved INV-1003 to late
    # fees from Saturday, whose day 0 is the next business day
    assert run("2026-03-23") == [
        (ar, "call", "task", one, "done"),
        (ar, "call", "status", one, "done"),
        (fee, "warning", "email", other, "sent"),
        (fee, "warning", "status", other, "done"),
    ]
    assert run("2026-03-30") == [
        (ar, "escalate", "email", one, "sent"),
        (ar, "escalate", "notify", one, "sent"),
        (ar, "escalate", "status", one, "done"),
        (ar, "finish", "notify", one, "sent"),
        (fee, "fee", "note", other, "done"),
        (fee, "fee", "sms", other, "sent"),
    ]
    # the AR Workflow is finished and C002 still owes: INV-1002 joins the late-fee sequence
    # the customer is already in (it counts from the 23rd), so nothing new today
    assert run("2026-03-31") == []
    both = ["INV-1002", "INV-1003"]
    assert run("2026-04-06") == [
        (fee, "final", "charge_fees", both, "done"),
        (fee, "final", "email", both, "sent"),
        (fee, "final", "task", both, "done"),
        (fee, "finish", "notify", both, "sent"),
    ]
    status = json.loads(
        cli(
            "status", "C002", "--as-of", "2026-04-06", "--format", "json", "--config", config
        ).stdout
    )["customers"][0]
    assert (status["specialist"], status["status"], status["assigned"]) == ("dana", "Escalated", ar)
    # the last step charged the example's late_fees (12 % a year, 25.00 once): INV-1002
    # (480.00) is late from 10 March, 28 days: 4.4186; INV-1003 (125.50) from 9 March, 29 days
    fees = json.loads(
        cli(
            "fees",
            "--as-of",
            "2026-04-06",
            "--customer",
            "C002",
            "--format",
            "json",
            "--config",
            config,
        ).stdout
    )
    assert [
        (i["number"], i["interest"], i["compensation"], i["charged"]) for i in fees["invoices"]
    ] == [
        ("INV-1002", "4.42", "25.00", "29.42"),
        ("INV-1003", "1.20", "25.00", "26.20"),
    ]
    assert status["invoice_statuses"] == {"INV-1002": "Escalated", "INV-1003": "Late fee warning"}
    tasks = json.loads(cli("tasks", "--format", "json", "--config", config).stdout)["tasks"]
    assert [
        (t["customer_id"], t["kind"], t["assignee"], t["due"])
        for t in tasks
        if t["customer_id"] == "C002"
    ] == [("C002", "call", "dana", "2026-03-24"), ("C002", "review", "controller", "2026-04-09")]
    # paid in full: the controller hears once, from the workflow that chased it last
    invoices = tmp_path / "ar" / "invoices.csv"
    text = invoices.read_text().replace(
        "INV-1002,C002,2026-02-07,Net 30,480.00,,", "INV-1002,C002,2026-02-07,Net 30,480.00,0,"
    )
    invoices.write_text(
        text.replace(
            "INV-1003,C002,2026-02-06,Net 30,125.50,,", "INV-1003,C002,2026-02-06,Net 30,125.50,0,"
        )
    )
    assert run("2026-04-07") == [(fee, "on_paid", "notify", both, "sent")]
    assert run("2026-04-08") == []


def test_status_works_before_the_first_run_and_prints_plain_lines_under_cron(desk):
    d = desk()
    assert not (d.root / "arflow.db").exists()
    lines = d("status", "--as-of", "2026-04-05").stdout.splitlines()
    assert lines == [
        "# customer\tname\tworkflow\tlast_step\tnext_step\topen\toverdue\tstatus\tspecialist\tholds",
        "C1\tAlpha Ltd\tby-due\t—\td1 (2026-04-05)\t$150.00\t$150.00\t—\tdana\t—",
        "C2\tBeta Ltd\tby-due\t—\td1 (2026-04-05)\t$200.00\t$200.00\t—\tdana\t—",
        "C3\tGamma Ltd\tby-due\t—\td1 (2026-04-05)\t$300.00\t$300.00\t—\t—\t—",
        "total\t3 customer(s)\t\t\t\t$650.00\t$650.00\t\t\t",
    ]
    assert not (d.root / "arflow.db").exists()  # reading the position writes nothing
    assert d("tasks").stdout == (  # no tasks yet: the header and a total of none
        "# id\tdue\tcustomer\tkind\ttitle\tassignee\tinvoices\tstate\n"
        "total\t\t\t\t0 task(s)\t\t\t\n"
    )
    assert "no customer 'C9'" in d("status", "C9", expect=2).output


# --- what a person types goes through the data's own parser, and nonsense is refused -------------
@pytest.mark.parametrize(
    "amount, message",
    [
        ("NaN", "'NaN' is not an amount: write a finite decimal number such as 1234.56"),
        ("Infinity", "'Infinity' is not an amount: write a finite decimal number such as 1234.56"),
        ("1e3", "'1e3' is not an amount: exponent notation is not accepted; write the number out"),
        ("abc", "'abc' is not an amount: write a decimal number such as 1234.56"),
        ("0", "--amount 0 must be more than zero"),
        ("-5", "--amount -5 must be more than zero"),
    ],
)
def test_promise_amounts_are_parsed_like_the_data(desk, amount, message):
    d = desk()
    result = d(
        "promise",
        "B1",
        "--date",
        "2026-04-15",
        "--as-of",
        "2026-04-01",
        "--amount",
        amount,
        expect=2,
    )
    assert message in " ".join(result.output.split())
    assert not (d.root / "arflow.db").exists() or d.db().execute(
        "SELECT count(*) FROM promises"
    ).fetchone() == (0,)


def test_typed_dates_and_amounts_follow_the_source_settings(desk):
    d = desk()
    config = d.config.read_text().replace(
        "invoices: {path: invoices.csv}",
        'invoices: {path: invoices.csv, date_format: "%d/%m/%Y", decimal: ",", thousands: "."}',
    )
    d.config.write_text(config)
    (d.root / "invoices.csv").write_text(
        "number,customer_id,issue_date,due_date,amount,paid_date\n"
        'B1,C2,01/03/2026,31/03/2026,"1.200,00",\n'
    )
    out = d(
        "promise", "B1", "--date", "15/04/2026", "--as-of", "2026-04-01", "--amount", "1.000,50"
    ).stdout
    assert "B1 to be paid by 2026-04-15 (1000.50)" in out
    assert d.db().execute("SELECT date, amount, as_of FROM promises").fetchall() == [
        ("2026-04-15", "1000.50", "2026-04-01")
    ]
    bad = d("promise", "B1", "--date", "04/15/2026", expect=2)
    assert "'04/15/2026' is not a real date" in " ".join(bad.output.split())
    assert "'2026-02-30' is not a real date" in " ".join(
        d("status", "--as-of", "2026-02-30", expect=2).output.split()
    )


def test_nonsense_from_the_desk_is_refused_with_exit_2(desk):
    d = desk()

    def refused(*args) -> str:
        return d(*args, expect=2).stderr.strip()

    assert refused("pause", "customer", "C1", "--until", "2026-03-31", "--as-of", "2026-04-01") == (
        "error: --until 2026-03-31 is before today (2026-04-01): a pause holds through the day "
        "--until names; give a later day, or none to pause until `arflow resume` (2030-01-15T12:00:00Z)"
    )
    assert refused("promise", "A1", "--date", "2026-03-31", "--as-of", "2026-04-01") == (
        "error: --date 2026-03-31 is before today (2026-04-01): a promise is to pay by a day "
        "still to come (2030-01-15T12:00:00Z)"
    )
    d.pay("A1", "2026-04-01")
    assert refused("promise", "A1", "--date", "2026-04-30", "--as-of", "2026-04-02") == (
        "error: A1 is not open on 2026-04-02 (status open, balance 0): there is nothing to "
        "promise (2030-01-15T12:00:00Z)"
    )
    assert refused("run", "--customer", "C9", "--as-of", "2026-04-02") == (
        "error: --customer 'C9': no such customer in the sources (2030-01-15T12:00:00Z)"
    )
    assert refused("history", "--customer", "C9") == (
        "error: --customer 'C9': no such customer in the sources or the history (2030-01-15T12:00:00Z)"
    )
    assert d("history", "--customer", "C1").exit_code == 0  # known, nothing recorded yet
    # the day a pause is made on is today, too: a pause through today is fine
    d("pause", "customer", "C1", "--until", "2026-04-01", "--as-of", "2026-04-01")
    assert d.db().execute("SELECT count(*) FROM pauses").fetchone() == (1,)


def test_desk_days_typed_as_plus_or_minus_n_count_from_the_commands_day(desk):
    """`+N` / `-N`: days after / before the day the pause or promise is made (--as-of, else
    today), and for assign today, so an example copied on any day means the same."""
    d = desk()
    out = d("pause", "customer", "C1", "--until", "+30", "--as-of", "2026-04-01").stdout
    assert out == "Paused customer C1 through 2026-05-01 (pause 1).\n"
    out = d("promise", "B1", "--date", "+14", "--as-of", "2026-04-01").stdout
    assert out == "Promise 1: B1 to be paid by 2026-04-15; chasing holds until then.\n"
    out = d("assign", "C2", "--workflow", "ptp", "--date", "-11").stdout
    assert out == "Assigned 1 customer(s) to ptp from 2030-01-04: C2\n"  # today is 2030-01-15
    assert d.db().execute("SELECT until FROM pauses").fetchall() == [("2026-05-01",)]
    assert d.db().execute("SELECT date, as_of FROM promises").fetchall() == [
        ("2026-04-15", "2026-04-01")
    ]
    assert d.db().execute("SELECT since FROM assignments").fetchall() == [("2030-01-04",)]
    # a day before the pause's is refused as any past day is; a word is not a day
    late = d("pause", "customer", "C2", "--until", "-1", "--as-of", "2026-04-01", expect=2)
    assert late.stderr.startswith("error: --until 2026-03-31 is before today (2026-04-01)")
    bad = d("promise", "B1", "--date", "+two", expect=2)
    assert "'+two' is not a date: write YYYY-MM-DD" in " ".join(bad.output.split())
    assert "or +N / -N for N days after / before 2030-01-15" in " ".join(bad.output.split())
    far = d("pause", "customer", "C2", "--until", "+99999", expect=2)
    assert "+99999 days is too far: +N / -N counts at most 9999 days" in " ".join(
        far.output.split()
    )
    # every date option takes them, from today
    assert json.loads(d("aging", "--as-of", "-30", "--format", "json").stdout)["as_of"] == (
        "2029-12-16"
    )
