"""The reference in docs/ names every setting, workflow key, template filter and command the
code has: a setting added without its line in the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

import click
import jinja2
import pytest
import typer.main
from pydantic import BaseModel

from arflow import action_specs, config, digest_settings, workflow
from arflow.cli import app
from arflow.erp import ERP_PRESETS
from arflow.payments.presets import PAYMENT_PRESETS
from arflow.presets import PRESETS
from arflow.render import Templates
from tests.conftest import subcommands

DOCS = Path(__file__).resolve().parents[1] / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def keys(model: type[BaseModel]) -> list[str]:
    """The keys a person writes for the model's fields (aliases such as `from`)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def documented(text: str, key: str) -> bool:
    # `key`, `key: …`, {key: …}, {a: 1, key: …}, `x|key` (a filter), or a heading
    return re.search(rf"(`|\{{|, |\||### ){re.escape(key)}(:|`| |\b)", text) is not None


@pytest.mark.parametrize("model", [config.SourceConfig, config.PaymentsSource])
def test_every_source_setting_and_preset_is_documented(model):
    text = page("sources.md")
    assert [k for k in keys(model) if not documented(text, k)] == []
    assert [n for n in (*PRESETS, *PAYMENT_PRESETS, *ERP_PRESETS) if n not in text] == []
    fields = (*config.INVOICE_FIELDS, *config.CUSTOMER_FIELDS, *config.PAYMENT_FIELDS)
    assert [f for f in fields if not documented(text, f)] == []


@pytest.mark.parametrize(
    "model",
    [
        config.Config,
        config.Company,
        config.Person,
        config.EmailChannel,
        config.SmsChannel,
        config.NotifyChannel,
        config.WebhookChannel,
        config.InboxChannel,
        config.Replies,
        digest_settings.Digest,
    ],
)
def test_every_config_setting_is_documented(model):
    text = page("sources.md")
    assert [k for k in keys(model) if not documented(text, k)] == []


@pytest.mark.parametrize(
    "model",
    [
        workflow.Workflow,
        workflow.Step,
        workflow.Match,
        workflow.Schedule,
        workflow.Condition,
        action_specs.Action,
        action_specs.EmailAction,
        action_specs.SmsAction,
        action_specs.NotifyAction,
        action_specs.StatusAction,
        action_specs.TaskAction,
        action_specs.NoteAction,
        action_specs.AssignAction,
        action_specs.WebhookAction,
    ],
)
def test_every_workflow_key_is_documented(model):
    text = page("workflows.md")
    assert [k for k in keys(model) if not documented(text, k)] == []


def test_every_template_filter_and_context_name_is_documented(tmp_path):
    text = page("templates.md")
    ours = {
        name
        for name in set(Templates(tmp_path, "en_US", "USD").env.filters)
        - set(jinja2.Environment().filters)
        if name.isidentifier()
    }
    assert ours  # money, date, days, phone, …
    assert sorted(f for f in ours if not documented(text, f)) == []
    for name in (
        "company",
        "customer",
        "invoices",
        "invoice",
        "totals",
        "workflow",
        "step",
        "today",
        "person",
        "conditions",
        "statement",
        "payment_url",
        "reply",
    ):
        assert documented(text, name), name


def test_every_command_and_exit_code_is_documented():
    text = page("commands.md")

    def names(group: click.Group, path: tuple[str, ...] = ()):
        for name, command in subcommands(group).items():
            yield " ".join((*path, name))
            if isinstance(command, click.Group):
                yield from names(command, (*path, name))

    missing = [n for n in names(typer.main.get_command(app)) if f"arflow {n}" not in text]
    assert missing == []
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"\|\s*`?{code}`?\s*\|", text), code


def test_the_user_docs_cite_no_internal_document():
    for path in [DOCS.parent / "README.md", *DOCS.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "SPEC" not in text and "§" not in text, path.name
