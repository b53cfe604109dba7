"""The papers' orderings as data, and their verdicts from intervals over seeds.

Each claim says every model of `better` scores above every model of `worse` on every metric
of a family; each comparison is decided by `eval.intervals.compare` (paired by seed), and a
claim holds only when all its comparisons do (docs/results.md, "The claims").
"""

from __future__ import annotations

from dataclasses import dataclass

from procmem.eval.intervals import compare

PROCESSES = ("shaders", "shaders-mixup", "kml", "kml-mixup")
RANDOM, PIXELS = "random-init", "pixels"
BASELINES = (RANDOM, PIXELS)
DETERMINISTIC = (PIXELS,)
"""Models with no seed to vary: evaluated once, their interval is the point itself."""
PRIMARY_RULE = "softmax"
"""The kNN rule the claims read: DINO's weighted kNN (exp(sim / 0.07)), Caron et al. 2021."""
VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")

BARADAD = "Baradad et al. 2022, Procedural Image Programs for Representation Learning"
RODRIGUEZ = "Rodriguez-Munoz et al. 2025, Separating Knowledge and Perception with Procedural Data"


@dataclass(frozen=True)
class Claim:
    """A paper's ordering: every model in `better` scores above every model in `worse` on
    every metric of `family` (knn: PRIMARY_RULE at k=20 per classification set; linear: per
    classification set; nights: 2AFC agreement; camvid: zero-shot PCA-3 R^2)."""

    name: str
    statement: str
    better: tuple[str, ...]
    worse: tuple[str, ...]
    family: str
    source: str


CLAIMS = (
    Claim("procedural > random init (kNN)", "every procedural process beats random init of the "
          "same architecture on kNN classification", PROCESSES, (RANDOM,), "knn",
          f"{BARADAD}; {RODRIGUEZ}"),
    Claim("procedural > raw pixels (kNN)", "every procedural process beats raw pixels on kNN "
          "classification", PROCESSES, (PIXELS,), "knn", RODRIGUEZ),
    Claim("kml-mixup best (kNN)", "kml-mixup is the best of the four processes on kNN",
          ("kml-mixup",), ("shaders", "shaders-mixup", "kml"), "knn", RODRIGUEZ),
    Claim("mixup helps shaders (kNN)", "shaders-mixup > shaders on kNN", ("shaders-mixup",),
          ("shaders",), "knn", BARADAD),
    Claim("mixup helps shaders (linear)", "shaders-mixup > shaders on the linear probe",
          ("shaders-mixup",), ("shaders",), "linear", BARADAD),
    Claim("mixup helps kml (kNN)", "kml-mixup > kml on kNN", ("kml-mixup",), ("kml",), "knn",
          RODRIGUEZ),
    Claim("kml helps (kNN)", "kml > shaders on kNN", ("kml",), ("shaders",), "knn", RODRIGUEZ),
    Claim("procedural > random init (linear)", "every procedural process beats random init on "
          "the linear probe", PROCESSES, (RANDOM,), "linear", BARADAD),
    Claim("NIGHTS above random init", "every procedural process agrees with humans on NIGHTS "
          "2AFC more than random init", PROCESSES, (RANDOM,), "nights", RODRIGUEZ),
    Claim("PCA R^2 above random init", "every procedural process has a higher zero-shot PCA-3 "
          "R^2 on CamVid than random init", PROCESSES, (RANDOM,), "camvid", RODRIGUEZ),
)


def combine(verdicts: list[str]) -> str:
    """One claim from its comparisons: holds only if all hold, does not hold if any reverses."""
    if not verdicts:
        return "not tested"
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    return "inconclusive"


def family_metrics(family: str, metrics) -> list[str]:
    """The metric keys of a claim family among `metrics` (names like knn-softmax/cifar10)."""
    prefix = {"knn": f"knn-{PRIMARY_RULE}/", "linear": "linear/", "nights": "nights/2afc",
              "camvid": "camvid/r2-pca3"}[family]
    return sorted(m for m in metrics if m.startswith(prefix))


def check_claims(summary: dict, claims=CLAIMS) -> list[dict]:
    """Each claim with its verdict and every (better, worse, metric) comparison behind it.

    `summary[metric][model]` is a mean_ci result; models or metrics a run lacks make the
    claim 'not tested' (with the reason), never a silent pass.
    """
    out = []
    for c in claims:
        keys = family_metrics(c.family, summary)
        models = {m for k in keys for m in summary[k]}
        missing = sorted(set(c.better + c.worse) - models)
        rows = []
        for k in keys:
            for hi in c.better:
                for lo in c.worse:
                    if hi == lo or hi not in summary[k] or lo not in summary[k]:
                        continue
                    a, b = summary[k][hi], summary[k][lo]
                    rows.append({"metric": k, "better": hi, "worse": lo,
                                 "better_mean": a["mean"], "worse_mean": b["mean"],
                                 "verdict": compare(a, b)})
        verdict = combine([r["verdict"] for r in rows])
        if not keys:
            note = f"no {c.family} results in this run (data set skipped or not asked for)"
        elif missing:
            note = f"not in this run: {', '.join(missing)}"
        else:
            note = ""
        if missing and verdict == "holds":
            verdict = "inconclusive"  # some of the claim's models were never compared
        out.append({"name": c.name, "statement": c.statement, "family": c.family,
                    "source": c.source, "verdict": verdict, "note": note,
                    "counts": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS[:3]},
                    "comparisons": rows})
    return out
