"""arflow's commands, by what a user does: the nightly run (run.py), the desk (desk.py), the
reports (reports.py) and setting a folder up (setup.py). `arflow.cli` registers them; what
they share (options, formats, the clock, parsing what a person types) is in common.py."""
