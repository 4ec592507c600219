"""`arflow init`: a working folder from the bundled example, with invoices dated around today."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

from arflow.errors import ArflowError
from arflow.planner.schedule import FINISH_TEMPLATE, PAUSE_TEMPLATE
from arflow.plans import BROKEN_TEMPLATE, LIBRARY_WORKFLOW
from arflow.workflow import load_workflows, workflow_actions

# (number, customer, days before the init date it was issued, terms, amount, balance, status,
#  product, location): chosen so a dry run on the init date shows every kind of step
SAMPLE_INVOICES = [
    ("INV-1001", "C001", 27, "Net 30", "1250.00", "", "open", "consulting", "Branch"),
    ("INV-1002", "C002", 37, "Net 30", "480.00", "", "open", "consulting", "Branch"),
    ("INV-1003", "C002", 38, "Net 30", "125.50", "", "open", "consulting", "Branch"),
    ("INV-1004", "C003", 60, "Net 30", "3200.00", "1200.00", "open", "consulting", "HQ"),
    ("INV-1005", "C004", 31, "Net 30", "89.00", "", "open", "hosting", "HQ"),
    ("INV-1006", "C005", 45, "Net 30", "640.00", "", "open", "support", "HQ"),
    ("INV-1007", "C005", 75, "Net 30", "910.00", "", "open", "support", "HQ"),
    ("INV-1008", "C006", 95, "Net 30", "2150.00", "", "open", "consulting", "Branch"),
    ("INV-1009", "C001", 50, "Net 30", "300.00", "0", "paid", "consulting", "HQ"),
    ("INV-1010", "C003", 2, "Net 30", "760.00", "", "draft", "consulting", "HQ"),
]
INVOICE_HEADER = [
    "number",
    "customer_id",
    "issue_date",
    "terms",
    "amount",
    "balance",
    "status",
    "product",
    "location",
]


def library() -> Path:
    """Where the ready workflows, their templates and the example are: inside the installed
    package (the wheel puts them under arflow/library), else at the top of arflow's
    repository (a clone, or an editable install)."""
    packaged = Path(str(files("arflow") / "library"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1]


def example_dir() -> Path:
    return library() / "examples"


# what the example's arflow.yaml has and a user's folder, with its own copies, leaves out
LIBRARY_LINES = (
    "# the ready workflows and their templates, kept once at the top of arflow's "
    "repository;\n# `arflow init` copies them into your folder (and leaves these "
    "lines out)\nworkflows: ../workflows\ntemplates: ../templates\n"
)


def own_config(example: str) -> str:
    """The example's arflow.yaml as a folder of its own has it: its workflows, templates and
    schemas beside it, not in the repository's `../`."""
    return example.replace(LIBRARY_LINES, "").replace("$schema=../schemas/", "$schema=schemas/")


def write_scaffold(directory: Path, today: date) -> list[Path]:
    """The example as a folder of its own: its arflow.yaml and customers, the ready workflows
    and their templates, and invoices dated around `today`; returns the files written ([] if
    `directory` already has an arflow.yaml)."""
    if (directory / "arflow.yaml").exists():
        return []
    if directory.exists() and not directory.is_dir():
        raise ArflowError(f"{directory} exists and is not a folder")
    root = library()
    copies = [
        (root / "examples" / name, directory / name) for name in ("arflow.yaml", "customers.csv")
    ]
    for folder in ("workflows", "templates", "schemas"):
        copies += [
            (path, directory / folder / path.name)
            for path in sorted((root / folder).iterdir())
            if path.is_file()
        ]
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for source, target in copies:
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.name == "arflow.yaml":
                text = source.read_text(encoding="utf-8")
                target.write_text(own_config(text), encoding="utf-8")
            else:
                shutil.copyfile(source, target)
            written.append(target)
        invoices = directory / "invoices.csv"
        if not invoices.exists():
            write_invoices(invoices, today)
            written.append(invoices)
    except OSError as exc:
        raise ArflowError(f"cannot write {directory}: {exc.strerror}") from None
    return sorted(written)


def write_invoices(path: Path, today: date) -> None:
    """The sample invoices, dated so that a dry run on `today` shows every kind of step
    (examples/invoices.csv is this for 2026-03-16)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INVOICE_HEADER)
        for number, cid, age, terms, amount, balance, status, product, loc in SAMPLE_INVOICES:
            issued = today - timedelta(days=age)
            writer.writerow(
                [number, cid, issued.isoformat(), terms, amount, balance, status, product, loc]
            )


_INCLUDED = re.compile(r"""{%-?\s*(?:include|extends|import|from)\s+["']([^"']+)["']""")


def ready_workflows() -> list[str]:
    """The ids of the ready workflows arflow ships."""
    return sorted(p.stem for p in (library() / "workflows").glob("*.yaml"))


def add_workflow(directory: Path, name: str) -> tuple[list[Path], list[Path]]:
    """Copy the ready workflow `name` into an existing folder, with the templates it uses and
    the partials they include; returns (written, kept: already there, left as they are)."""
    root = library()
    source = root / "workflows" / f"{name}.yaml"
    if not source.is_file():
        raise ArflowError(f"no ready workflow {name!r}; they are: {', '.join(ready_workflows())}")
    if not (directory / "arflow.yaml").is_file():
        raise ArflowError(f"{directory} has no arflow.yaml: run `arflow init {directory}` first")
    workflows, _ = load_workflows(root / "workflows")
    model = workflows[name].model
    names = {
        getattr(action.spec, "template", None) for _, action in workflow_actions(workflows[name])
    }
    if model.notify_on:
        names |= {FINISH_TEMPLATE, PAUSE_TEMPLATE}
    if name == LIBRARY_WORKFLOW:  # the notice of a broken plan (issue 32)
        names.add(BROKEN_TEMPLATE)
    templates = root / "templates"
    files = {p.name for n in names if n for p in templates.glob(f"{n}.*.j2")}
    pending = list(files)
    while pending:  # the partials and layouts they include, and theirs
        for found in _INCLUDED.findall((templates / pending.pop()).read_text(encoding="utf-8")):
            if found not in files and (templates / found).is_file():
                files.add(found)
                pending.append(found)
    schema = root / "schemas" / "workflow.schema.json"  # its first line names it
    copies = [
        (source, directory / "workflows" / source.name),
        (schema, directory / "schemas" / schema.name),
    ] + [(templates / f, directory / "templates" / f) for f in sorted(files)]
    written, kept = [], []
    try:
        for origin, target in copies:
            if target.exists():
                kept.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)
            written.append(target)
    except OSError as exc:
        raise ArflowError(f"cannot write {directory}: {exc.strerror}") from None
    return written, kept
