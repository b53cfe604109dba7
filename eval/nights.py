"""NIGHTS two-alternative forced choice (Fu et al. 2023; Rodriguez-Munoz et al. 2025, Fig. 5).

For each triplet the model chooses the distortion with the higher cosine similarity to the
reference; the human choice is the side with more votes. Agreement per triplet is 1 when
they match, 0 when not, and 0.5 when either side is tied (equal similarities or equal votes).
The score is the mean agreement with its standard error (sample std / sqrt(n)).
"""

from __future__ import annotations

import numpy as np

from procmem.eval.comparisons import Metric


def two_afc(ref, left, right, left_vote, right_vote) -> dict:
    """Agreement with humans from unit embeddings [N, D] of the three images and the votes."""
    ref, left, right = (np.asarray(a, np.float64) for a in (ref, left, right))
    s_left = np.sum(ref * left, axis=1)
    s_right = np.sum(ref * right, axis=1)
    model = np.sign(s_left - s_right)          # +1 left, -1 right, 0 tie
    human = np.sign(np.asarray(left_vote, np.float64) - np.asarray(right_vote, np.float64))
    agree = np.where((model == 0) | (human == 0), 0.5, (model == human).astype(np.float64))
    n = len(agree)
    se = float(np.std(agree, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return {"agreement": float(agree.mean()) if n else 0.0, "stderr": se, "n": n,
            "model_ties": int(np.sum(model == 0)), "human_ties": int(np.sum(human == 0)),
            "per_triplet": agree}


NIGHTS = Metric("nights", "NIGHTS 2AFC agreement", "tmean", lambda a, r: a["agreement"])
"""The NIGHTS table's metric: agreement per triplet (ties 0.5), the t-interval as always."""


def run_nights(rundir, encoders, triplets, cache=None, progress: bool = True,
               name: str = "nights", source=None) -> dict:
    """NIGHTS 2AFC agreement per encoder: stored (per-triplet agreement), tabled."""
    from procmem.core.progress import progress as bar
    from procmem.eval import store
    from procmem.eval.datasets import LabelledImages
    from procmem.eval.features import compute_features

    sides = {}
    for side in ("ref", "left", "right"):
        imgs = getattr(triplets, side)
        sides[side] = LabelledImages(f"nights-{side}", imgs, np.zeros(len(imgs), np.int64), ["-"])
    info = {"name": name, "fingerprint": triplets.fingerprint(), "kind": "triplets",
            "source": source, "triplets": len(triplets),
            "image_shape": list(triplets.ref.shape[1:])}
    for enc in bar(encoders, desc="nights", unit="encoder", disable=not progress):
        f = {s: compute_features(enc, d, cache, progress=progress) for s, d in sides.items()}
        r = two_afc(f["ref"], f["left"], f["right"], triplets.left_vote, triplets.right_vote)
        agree = r.pop("per_triplet")
        store.put(rundir, "nights", enc, info, {"rule": "2afc-ties-half"}, r, {"agreement": agree})
    return write_nights(rundir)


def write_nights(rundir) -> dict:
    """`nights.json` + `nights.md` from every stored NIGHTS result."""
    from procmem.eval import store
    from procmem.eval.results import write_result
    from procmem.eval.tables import metric_section

    recs = store.records(rundir, "nights")
    if not recs:
        return {}
    results = {r["encoder"]["name"]: r["result"] for r in recs}
    md, rows = metric_section(recs, NIGHTS, "Agreement (%) of the model's choice (higher cosine "
                              "similarity to the reference) with the human majority; ties count "
                              "0.5; 95% interval mean +/- t * std / sqrt(n) over n triplets.")
    ties = "\n".join(f"- {r['encoder']['name']} on {r['dataset']['name']}: "
                     f"{r['result']['model_ties']} model ties, {r['result']['human_ties']} human ties"
                     for r in recs)
    write_result(rundir, "nights", {"results": results, "comparisons": rows},
                 "## NIGHTS 2AFC\n\n" + md + "\n\nTies:\n\n" + ties)
    return results

