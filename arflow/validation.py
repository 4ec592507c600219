"""`arflow validate` on a workflow file: which files are workflows, and what checks one."""

from __future__ import annotations

from pathlib import Path

from arflow.errors import InvalidFiles, Problem
from arflow.project import load_project
from arflow.workflow import load_workflows


def is_workflow_file(path: Path) -> bool:
    """A YAML file that is not arflow.yaml, in a workflows/ folder or with steps:/schedule:."""
    if path.name == "arflow.yaml" or path.suffix not in (".yaml", ".yml") or not path.is_file():
        return False
    if path.parent.name == "workflows":
        return True
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith(("steps:", "schedule:")) for line in head.splitlines())


def workflow_file_problems(path: Path) -> list[Problem]:
    """A workflow file's problems: within its folder's project when one is above it (only
    that file's, and the project's that name it), else the file on its own."""
    folder = path.resolve().parent
    config = next(
        (f / "arflow.yaml" for f in (folder, *folder.parents) if (f / "arflow.yaml").is_file()),
        None,
    )
    if config is not None:
        try:
            load_project(config)
        except InvalidFiles as err:
            return err.problems
        return []
    _, problems = load_workflows(path.parent, str)
    name = str(path)
    return [p for p in problems if p.path == name]
