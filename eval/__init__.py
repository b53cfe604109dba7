"""eval stage of procmem (see docs/architecture.md)."""
