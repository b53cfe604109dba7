"""pretrain stage of procmem (see docs/architecture.md)."""
