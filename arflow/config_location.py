"""Which `arflow.yaml` a command uses: `--config`, else $ARFLOW_CONFIG, else the nearest one."""

from __future__ import annotations

import os
from pathlib import Path

from arflow.errors import ArflowError

CONFIG_NAME = "arflow.yaml"  # here, not in arflow.config: finding it needs none of the models
CONFIG_ENV = "ARFLOW_CONFIG"


def find_config(explicit: Path | None, cwd: Path) -> Path:
    """The config to use: `--config`, else $ARFLOW_CONFIG, else `arflow.yaml` in the current
    folder or the nearest folder above it (as git finds its repository)."""
    if explicit is None and os.environ.get(CONFIG_ENV):
        explicit = Path(os.environ[CONFIG_ENV])
        if not explicit.is_file() and not (explicit / CONFIG_NAME).is_file():
            raise ArflowError(
                f"{CONFIG_ENV}={explicit}: no such file; point it at your {CONFIG_NAME} or unset it"
            )
    if explicit is not None:
        if explicit.is_dir():  # a folder names the arflow.yaml in it, as `validate DIR` does
            explicit = explicit / CONFIG_NAME
        if not explicit.is_file():
            raise ArflowError(f"config file {explicit} not found")
        return explicit
    for folder in (cwd, *cwd.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    raise ArflowError(
        f"no {CONFIG_NAME} in {cwd} or any folder above it: run `arflow init DIR` "
        f"to create a working folder, or pass --config PATH (or set {CONFIG_ENV})"
    )
