"""Shared rich console and the error exit used by every command."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def say(message: str) -> None:
    console.print(message)
