"""generators stage of procmem (see docs/architecture.md)."""
