"""`arflow validate` on a workflow file: which files are workflows, and what checks one;
and how validate names a file to the user (as typed, relative to the working directory)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arflow.config import CONFIG_NAME, NAMED_AS, load_config
from arflow.errors import ArflowError, InvalidFiles, Problem
from arflow.project import Project, load_project
from arflow.workflow import load_workflows
from arflow.yamlfile import load_located


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


def shown(folder: Path | None, path: str) -> str:
    """How validate names a file to the user, in every format: `path` (relative to the AR
    folder `folder`, or absolute) under the folder as the user gave it (`ar_folder`); an
    absolute path is named relative to the working directory when it is inside it. With no
    folder (one given absolute, outside the working directory), as the AR folder names it."""
    if folder is None:
        return path
    joined = folder / path
    if joined.is_absolute():
        return _from_here(joined)
    return os.path.relpath(os.path.abspath(joined))  # `../ar/x` stays; `../workflows/x` is `x`


def _from_here(path: Path) -> str:
    """An absolute path relative to the working directory when inside it, else as it is."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


@contextmanager
def naming(folder: Path | None) -> Iterator[None]:
    """While checking the AR folder `folder` (as the user typed it), files named inside
    messages are named as its problems' paths are (`Config.named`)."""
    token = NAMED_AS.set(lambda path: shown(folder, path))
    try:
        yield
    finally:
        NAMED_AS.reset(token)


def in_folder(problems: list[Problem], folder: Path | None) -> list[Problem]:
    """Problems named relative to the AR folder, named as the user sees them (`shown`)."""
    return [dataclasses.replace(p, path=shown(folder, p.path)) for p in problems]


def ar_folder(config_file: Path, typed: Path | None, alone: bool = True) -> Path | None:
    """The folder of `config_file` as the user gave it: as typed when relative; relative to
    the working directory when found from here or typed relative (`../ar` stays so); typed
    absolute, relative to the working directory when inside it, else None when it is the only
    folder checked (files are named from it, as `--config /srv/ar` reads best) and absolute
    among several (each folder's files by its own path)."""
    folder = config_file.parent
    if not folder.is_absolute():
        return folder
    if typed is None or not typed.is_absolute():
        return Path(os.path.relpath(folder))
    relative = os.path.relpath(folder)
    if relative.startswith(".."):
        return None if alone else folder
    return Path(relative)


def workflow_file_problems(path: Path, alone: bool = True) -> tuple[list[Problem], Path | None]:
    """A workflow file's problems and the folder they are named from: within its folder's
    project when one is above it (only that file's, and the project's that name it), else the
    file on its own (named as typed)."""
    folder = path.resolve().parent
    config = next(
        (f / CONFIG_NAME for f in (folder, *folder.parents) if (f / CONFIG_NAME).is_file()),
        None,
    )
    if config is not None:
        typed = ar_folder(config, path, alone)
        with naming(typed):
            return checked_project(config)[1], typed
    _, problems = load_workflows(path.parent, str)
    name = str(path)
    return [p for p in problems if p.path == name], Path()


def config_above(path: Path) -> Path | None:
    """The arflow.yaml of the AR folder holding `path` (a folder: its own, else the nearest
    folder's above it), as the user would type it: relative to the working directory when
    `path` was typed relative, else absolute. None when there is none."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    found = next(
        (f / CONFIG_NAME for f in (start, *start.parents) if (f / CONFIG_NAME).is_file()), None
    )
    if found is None or path.is_absolute():
        return found
    return Path(os.path.relpath(found))


def configs_above(paths: list[Path], problems: list[Problem]) -> list[tuple[Path, Path]]:
    """Each distinct AR folder's arflow.yaml holding one of `paths`, in the order given, with
    the path it was found from; a path in no AR folder is a problem."""
    found: dict[Path, tuple[Path, Path]] = {}
    for path in paths:
        config = config_above(path)
        if config is None:
            problems.append(Problem(str(path), None, "", NO_FOLDER))
        else:
            found.setdefault(config.resolve(), (config, path))
    return list(found.values())


def own_files(paths: list[Path]) -> list[Path]:
    """Of `paths`, those that are an AR folder's own files: its arflow.yaml, a workflow in its
    workflows folder, a template in its templates folder (as its arflow.yaml names them, the
    defaults when it does not load). What the pre-commit hooks pass is every file under any
    `workflows/` or `templates/`: a repository's `.github/workflows/ci.yml` is not arflow's.
    Each arflow.yaml is read once, however many of its files are given."""
    folders: dict[Path, tuple[Path, Path]] = {}
    return [path for path in paths if _own_file(path, folders)]


def _own_file(path: Path, folders: dict[Path, tuple[Path, Path]]) -> bool:
    config = config_above(path)
    if config is None or path.is_dir():
        return False
    here, config = path.resolve(), config.resolve()
    if here == config:
        return True
    if config not in folders:
        folders[config] = _own_folders(config)
    workflows, templates = folders[config]
    if here.suffix in (".yaml", ".yml"):
        return here.parent == workflows
    return here.suffix == TEMPLATE_SUFFIX and templates in here.parents


def _own_folders(config: Path) -> tuple[Path, Path]:
    """The workflows and templates folders `config` names (the defaults when it does not
    load: its own problems are validate's to report)."""
    try:
        cfg = load_config(config)
        return cfg.resolve(cfg.workflows), cfg.resolve(cfg.templates)
    except ArflowError:
        return config.parent / "workflows", config.parent / "templates"


TEMPLATE_SUFFIX = ".j2"
NO_FOLDER = (
    "in no AR folder: no arflow.yaml in its folder or any folder above it "
    "(`arflow init DIR` creates one)"
)


def checked_project(config_file: Path) -> tuple[Project | None, list[Problem]]:
    """The AR folder loaded, or every problem of it, named relative to it; errors in
    arflow.yaml do not hide the workflows' own when the workflows folder can still be found."""
    try:
        return load_project(config_file), []
    except InvalidFiles as err:
        return None, err.problems + _workflows_beside(config_file)


def _workflows_beside(config_file: Path) -> list[Problem]:
    """The workflow files' problems when arflow.yaml itself does not load (else none: the
    project's problems hold them): its `workflows:` folder, or workflows/ when unreadable."""
    try:
        load_config(config_file)
        return []
    except InvalidFiles:
        pass
    try:
        data = load_located(config_file).data
    except InvalidFiles:
        data = None
    named = data.get("workflows") if isinstance(data, dict) else None
    base = config_file.parent
    folder = base / (named if isinstance(named, str) else "workflows")
    if not folder.is_dir():
        return []
    _, problems = load_workflows(folder, lambda p: os.path.relpath(p, base))
    return problems
