"""What the app needs before it knows which command runs: the exit codes, the help options,
`--config` and its value for every command. Nothing heavy is imported here, so `arflow
--version` and `arflow --help` start without the sources, the state or the templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_PROBLEMS = 0, 1, 2, 3

HELP = {"help_option_names": ["-h", "--help"]}
GLOBAL_CONFIG: list[Path] = []  # `arflow --config PATH COMMAND`: the default of every command

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Path to arflow.yaml, or the folder holding it (default: the one here or in a "
        "folder above, or $ARFLOW_CONFIG).",
    ),
]
