"""Presets for the open-source ERPs' own databases (issue 35): `preset: odoo` (and `erpnext`,
`dolibarr`, `invoiceninja`) under `invoices:`, `customers:` or `contacts:` beside a
`database:` address reads that ERP's tables as arflow's fields — one SELECT per source, written
from the project's own model files (cited in each module and in docs/sources.md).

A preset is, per source it can fill, the settings a person would otherwise write: its `query:`
(one per database kind where the SQL differs: `postgresql`, `mysql`), `columns:`,
`status_map:`. A person's own settings win, key by key (`columns:` and `status_map:` merged),
so a site with a custom field adds one column without rewriting the query."""

from __future__ import annotations

from typing import Any

from arflow.database_url import parse_database_url

# name → source (invoices, customers, contacts) → settings; each ERP's module adds its own
ERP_PRESETS: dict[str, dict[str, dict[str, Any]]] = {}
MERGED = ("columns", "status_map")


def erp_settings(settings: Any, setting: str) -> Any:
    """A source's settings with its ERP preset's filled in (settings unchanged without one)."""
    if not isinstance(settings, dict) or settings.get("preset") not in ERP_PRESETS:
        return settings
    name = settings["preset"]
    url = settings.get("database")
    if not isinstance(url, str) or url.strip().lower().startswith("sqlite:"):
        raise ValueError(
            f"preset {name!r} reads that ERP's database: give database: with its address "
            "(postgresql://user@host/name or mysql://user@host/name)"
        )
    parts = ERP_PRESETS[name]
    if setting not in parts:
        raise ValueError(f"preset {name!r} has nothing for {setting}:; it reads {', '.join(parts)}")
    preset = dict(parts[setting])
    query = preset.pop("query")
    if isinstance(query, dict):
        kind = parse_database_url(url).kind
        if kind not in query:
            raise ValueError(
                f"preset {name!r} reads {' or '.join(sorted(query))} databases, not {kind}"
            )
        query = query[kind]
    own = {k: v for k, v in settings.items() if k != "preset"}
    merged = {**preset, "query": query, **own}
    for key in MERGED:
        if isinstance(own.get(key), dict) and key in preset:
            merged[key] = {**preset[key], **own[key]}
    return merged


# each ERP's module: its preset
from arflow.erp import dolibarr, invoiceninja  # noqa: E402
from arflow.erp.erpnext import ERPNEXT  # noqa: E402
from arflow.erp.odoo import ODOO  # noqa: E402

ERP_PRESETS["odoo"] = ODOO
ERP_PRESETS["erpnext"] = ERPNEXT
ERP_PRESETS["dolibarr"] = dolibarr.PRESET
ERP_PRESETS["invoiceninja"] = invoiceninja.PRESET
