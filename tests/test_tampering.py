"""The state database under tampering and foreseeable faults, with real processes: `python -m
arflow` against a real folder, the state file emptied, deleted, swapped, garbled, made
read-only or its disk filled (a real tmpfs), between runs and in the middle of one; and secrets
that a server echoes back. Every case ends in one line naming the file and the fix, and the
exit code SPEC 8 gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_folder
from tests.test_deliver import CHASE

INVOICES = "number,customer_id,customer_name,email,phone,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,+1202555010{n},2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 7))
OUTBOX_CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}
invoices: {path: invoices.csv}
default_workflow: chase
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
"""

@pytest.fixture
def ar(tmp_path) -> Path:
    """An AR folder that writes its email to the outbox; returns its config."""
    return make_folder(tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE},
                       config=OUTBOX_CONFIG)


# --- 6. messages ------------------------------------------------------------------------------
def test_an_unknown_key_never_suggests_itself_but_says_what_the_section_takes(ar, cli):
    ar.write_text(ar.read_text().replace("controller: {", "controller: {timeout: 5, ")
                  + "  notify: {transport: email, timeout: 2}\n"
                    "  sms: {transport: outbox, tmeout: 2}\n")
    result = cli("validate", "--config", ar, expect=1)
    assert result.output == (
        "arflow.yaml:5: people.controller.timeout: unknown key 'timeout'; people.controller "
        "takes: name, email, phone, specialist, webhook\n"
        "arflow.yaml:9: channels.sms.tmeout: unknown key 'tmeout'; did you mean 'timeout'?\n"
        "arflow.yaml:8: channels.notify.timeout: unknown key 'timeout'; channels.notify takes: "
        "transport, url\n"
        "3 problem(s) found; nothing was done.\n")
