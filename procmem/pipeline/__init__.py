"""Floor 6: pipelines that run the stages in order, resumably.

- `runner`: a stage is (name, key of its inputs, run); a pipeline is a list of stages with
  one resume file per run directory (tests/pipeline/test_runner.py);
- `demo` (`procmem demo`), with its real images in `demo_data` and its memory stage in
  `demo_memory` (tests/pipeline/test_demo.py);
- `orderings` (`procmem eval orderings`); its statistics and tables are in eval's
  `intervals`, `claims` and `orderings_tables` (tests/pipeline/test_orderings.py).
"""
