"""JSON Schema of arflow's files, generated from the models that validate them, for editors
(a YAML language server checks a file as it is typed) and CI (`check-jsonschema`).

The models accept a few short forms before validating (`email: reminder` for `email:
{template: reminder}`, `cc: controller` for a list of one, a condition written
`overdue >= 500`); the schema says so too, so that a file `arflow validate` takes is never
flagged. A misspelt key is flagged by both: every section forbids keys it does not know."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from arflow.action_specs import SHORTHAND
from arflow.config import Config
from arflow.workflow import CONDITION, Workflow

KINDS: dict[str, type[BaseModel]] = {"config": Config, "workflow": Workflow}
FILES = {"config": "arflow.schema.json", "workflow": "workflow.schema.json"}
# fields whose models take one value for a list of one (`as_list` in modelcheck.py)
_ONE_FOR_A_LIST = {
    "EmailAction": ("cc", "bcc", "attach"),
    "NotifyAction": ("to",),
    "Match": ("currency", "product", "segment", "location", "department", "customer", "tags"),
}
_TITLES = {"config": "arflow.yaml", "workflow": "an arflow workflow (workflows/*.yaml)"}


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `kind`: "config" or "workflow"."""
    doc = KINDS[kind].model_json_schema(by_alias=True, mode="validation")
    defs = doc.get("$defs", {})
    for name, fields in _ONE_FOR_A_LIST.items():
        for field in fields if name in defs else ():
            prop = defs[name]["properties"][field]
            array = next(p for p in prop.get("anyOf", [prop]) if p.get("type") == "array")
            defs[name]["properties"][field] = {
                **{k: v for k, v in prop.items() if k not in ("anyOf", "type", "items")},
                "anyOf": [*prop.get("anyOf", [array]), array["items"]],
            }
    if "Action" in defs:
        for action, key in SHORTHAND.items():
            prop = defs["Action"]["properties"][action]
            prop["anyOf"] = [
                *prop.get("anyOf", []),
                {"type": ["string", "number"], "description": f"short for {{{key}: …}}"},
            ]
        charge = defs["Action"]["properties"]["charge_fees"]  # `- charge_fees: true` only
        charge["anyOf"] = [{"const": True}, {"type": "null"}]
    if "Condition" in defs:
        defs["Condition"] = {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": CONDITION.pattern,
                    "description": "METRIC >= N or METRIC < N",
                },
                defs["Condition"],
            ]
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **doc,
        "title": _TITLES[kind],
    }


def schema_text(kind: str) -> str:
    """The schema as the committed files hold it: indented, keys in the models' order."""
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"
