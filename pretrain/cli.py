"""Command-line subcommands for the pretrain stage (registered by procmem.cli)."""

from __future__ import annotations


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
