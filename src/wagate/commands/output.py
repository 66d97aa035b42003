"""Where the CLI writes: results to standard output, errors to standard error."""

from __future__ import annotations

from rich.console import Console

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
