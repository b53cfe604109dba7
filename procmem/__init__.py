"""procmem: procedural-image embeddings with an explicit, editable visual memory.

This small package holds what every stage shares: the version, the error type the
command line reports without a traceback, atomic file writes, and data paths.
The stages themselves are the top-level packages shaders/, generators/, pretrain/,
memory/ and eval/ (see docs/architecture.md).
"""

__version__ = "0.1.0"
