"""eval stage of procmem: real data in, the papers' tables and the audits out (docs/architecture.md).

catalogue, datasets (sets by name, loaders, splits) -> features (the cache) -> knn_table,
linear_probe, nights, segmentation, scaling, add_classes, privacy, unlearning, compartment ->
store (every result once, with its per-item values) -> intervals, comparisons, tables ->
plots, report. `experiments` runs each one into a run directory; `paper` runs the paper's
protocol; `procmem.cli.eval` is `procmem eval`. No other package imports eval.
"""
