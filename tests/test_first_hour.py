"""What a bookkeeper, a cron job and a CI job meet in their first hour (issue 17)."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date

import pytest

from arflow.render import Templates
from arflow.scaffold import write_scaffold


@pytest.fixture
def example(tmp_path):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    return tmp_path / "ar" / "arflow.yaml"


@pytest.mark.parametrize(("days", "text"), [(1, "1 day"), (0, "0 days"), (30, "30 days"),
                                             (-1, "-1 day")])
def test_a_count_of_days_reads_as_people_write_it(tmp_path, days, text):
    templates = Templates(tmp_path, "en_US", "USD")
    assert templates.render_string("{{ n|days }}", {"n": days}) == text


def test_phone_numbers_in_notices_are_written_for_people(tmp_path):
    templates = Templates(tmp_path, "en_US", "USD")
    assert templates.render_string("{{ p|phone }}", {"p": "+12025550122"}) == "+1 202-555-0122"
    assert templates.render_string("{{ p|phone }}", {"p": "+442079460018"}) == "+44 20 7946 0018"
    assert templates.render_string("[{{ p|phone }}]", {"p": None}) == "[]"


def test_a_subject_adds_up_what_the_message_lists_and_says_what_else_is_owed(cli, example):
    # C005 owes INV-1006 ($640) and INV-1007 ($910); a promise holds INV-1006
    cli("assign", "C005", "--workflow", "ar-workflow", "--date", "2026-03-16", "--config", example)
    cli("promise", "INV-1006", "--date", "2026-03-31", "--as-of", "2026-03-16", "--config",
        example)
    doc = json.loads(cli("run", "--as-of", "2026-03-16", "--format", "json", "--config",
                         example).stdout)
    (reminder,) = [a for a in doc["actions"] if a["customer_id"] == "C005"
                   and a["action"] == "email"]
    assert (reminder["invoices"], reminder["subject"]) == (
        ["INV-1007"], "Reminder: 1 invoice past due ($910.00)")
    (path,) = (example.parent / "outbox").glob("*-C005-ar-workflow-kickoff-2-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "  INV-1007       due Jan 30, 2026  $910.00  (45 days past due)" in text
    assert "  Total:" not in text  # one invoice: its amount is the total
    assert ("  Your account's balance with us, including invoices not listed here: $1,550.00"
            in text)
    html = message.get_body(("html",)).get_content()
    assert "including invoices not listed here: $1,550.00" in html


def test_internal_notices_write_the_phone_for_people(cli, example):
    doc = json.loads(cli("run", "--as-of", "2026-03-16", "--format", "json", "--config",
                         example).stdout)
    assert any(a["customer_id"] == "C006" and a["action"] == "notify" for a in doc["actions"])
    (path,) = (example.parent / "outbox").glob("*-C006-net30-standard-final-notice-1-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert ("Billing contact: ap@tailspin.example, +1 202-555-0166."
            in message.get_body(("plain",)).get_content())
    assert message["Subject"] == ("[AR] Tailspin Toys: 1 invoice 65 days past due "
                                  "(Net 30 standard)")
