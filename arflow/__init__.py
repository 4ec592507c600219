"""arflow: accounts-receivable collections workflows, each action sent exactly once."""

__version__ = "0.1.0"
