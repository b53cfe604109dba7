"""eval stage of procmem: real data in, the papers' tables and the audits out (docs/architecture.md).

datasets (loaders, splits) -> encoders (encoders to compare, feature cache) -> knn_table,
linear_probe, nights, segmentation, scaling, add_classes, privacy, unlearning, compartment
-> plots, results, report. `experiments` runs each one into a run directory; `cli` is
`procmem eval`. No other package imports eval.
"""
