"""The house's layers, read from the imports of every module in arflow/ (those under
`if TYPE_CHECKING:` and inside functions count too): an import never points up a layer, and no
modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "arflow"

# lowest first: a module may import its own layer and the layers below it
LAYERS: list[tuple[str, list[str]]] = [
    (
        "base: words, files and formats arflow reads",
        [
            "arflow.errors",
            "arflow.reading",
            "arflow.textfile",
            "arflow.locales",
            "arflow.phones",
            "arflow.yamlfile",
            "arflow.modelcheck",
            "arflow.calendar",
            "arflow.presets",
            "arflow.payments.presets",
            "arflow.secrets",
            "arflow.deadline",
            "arflow.collector",
            "arflow.healthcheck",
            "arflow.plaintext",
            "arflow.database_url",
            "arflow.erp",
        ],
    ),
    (
        "model: settings, workflows, the ledger and the rules over them",
        [
            "arflow.config",
            "arflow.source_settings",
            "arflow.config_location",
            "arflow.workflow",
            "arflow.action_specs",
            "arflow.ledger",
            "arflow.parties",
            "arflow.ledger_columns",
            "arflow.rules",
            "arflow.actions",
            "arflow.schema",
            "arflow.fees",
            "arflow.payments",
            "arflow.holds.settings",
            "arflow.digest_settings",
            "arflow.disputes",
        ],
    ),
    ("the state database: arflow's records, in no one else's words", ["arflow.state"]),
    (
        "edges: reading sources, talking to channels",
        [
            "arflow.sources",
            "arflow.sample_ledger",
            "arflow.channels",
            "arflow.fees.reference",
            "arflow.payments.source",
            "arflow.payments.apply",
            "arflow.payments.by_hand",
        ],
    ),
    (
        "the planner",
        [
            "arflow.planner",
            "arflow.engine",
            "arflow.contacts",
            "arflow.fees.book",
            "arflow.fees.charging",
            "arflow.plans",
            "arflow.holds",
            "arflow.disputes.night",
            "arflow.disputes.making",
        ],
    ),
    (
        "messages: templates, their checks and composing",
        [
            "arflow.sandbox",
            "arflow.render",
            "arflow.contexts",
            "arflow.fees.contexts",
            "arflow.fees.checks",
            "arflow.attachments",
            "arflow.samples",
            "arflow.project",
            "arflow.template_checks",
            "arflow.headers",
            "arflow.message_names",
            "arflow.compose",
            "arflow.compose_pool",
            "arflow.holds.checks",
        ],
    ),
    (
        "what a command does: the run, the inbox, the desk, the reports",
        [
            "arflow.tonight",
            "arflow.digest_night",
            "arflow.ledger_rows",
            "arflow.delivery_writes",
            "arflow.deliver",
            "arflow.sample_night",
            "arflow.statement_notices",
            "arflow.inbox",
            "arflow.incoming",
            "arflow.desk",
            "arflow.accounts",
            "arflow.history",
            "arflow.validation",
            "arflow.due_days",
            "arflow.replay",
            "arflow.simulation",
            "arflow.preview",
            "arflow.doctor",
            "arflow.source_view",
            "arflow.aging",
            "arflow.kpi",
            "arflow.htmlreport",
            "arflow.scaffold",
            "arflow.report",
            "arflow.listing",
            "arflow.tables",
            "arflow.desk_lists",
            "arflow.csv_rows",
            "arflow.charts",
            "arflow.fees.report",
            "arflow.fees.journal",
            "arflow.payments.listing",
            "arflow.plans.listing",
            "arflow.holds.listing",
            "arflow.disputes.listing",
        ],
    ),
    ("the app", ["arflow.cli", "arflow.commands", "arflow.__main__"]),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    if module == "arflow":  # the package itself: its version only
        return 0
    best: tuple[int, int] | None = None  # (length of the matching prefix, layer)
    for n, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            fits = module == prefix or module.startswith(prefix + ".")
            if fits and (best is None or len(prefix) > best[0]):
                best = (len(prefix), n)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return best[1]


def imports_of(module: str) -> set[str]:
    """The arflow modules `module` imports, anywhere in its file."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), module, package)


def imports_in(source: str, module: str, package: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("arflow"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package up
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("arflow"):
                continue
            for alias in node.names:  # `from arflow import cli` names a module
                name = f"{base}.{alias.name}"
                found.add(name if name in MODULES else base)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer():
    assert all(layer_of(m) >= 0 for m in MODULES)


def test_no_import_points_up_a_layer():
    upward = sorted(
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {i} ({LAYERS[layer_of(i)][0]})"
        for m, targets in GRAPH.items()
        for i in targets
        if layer_of(i) > layer_of(m)
    )
    assert upward == []


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), or one that
    imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_circle():
    assert circles(GRAPH) == []


@pytest.mark.parametrize(
    "graph, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_circle_finder_finds_circles(graph, expected):
    assert circles(graph) == expected


def test_the_import_reader_sees_type_checking_relative_and_function_imports():
    """Imports under `if TYPE_CHECKING:`, inside functions and relative ones are arrows too."""
    assert "arflow.config" in GRAPH["arflow.engine"]
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from arflow.cli import app\n"
        "def f():\n    import arflow.deliver\n"
        "from . import errors\n"
        "from arflow import engine\n"
    )
    assert imports_in(source, "arflow.ledger", "arflow") == {
        "arflow.cli",
        "arflow.deliver",
        "arflow.errors",
        "arflow.engine",
    }
