"""NIGHTS two-alternative forced choice (Fu et al. 2023; Rodriguez-Munoz et al. 2025, Fig. 5).

For each triplet the model chooses the distortion with the higher cosine similarity to the
reference; the human choice is the side with more votes. Agreement per triplet is 1 when
they match, 0 when not, and 0.5 when either side is tied (equal similarities or equal votes).
The score is the mean agreement with its standard error (sample std / sqrt(n)).
"""

from __future__ import annotations

import numpy as np


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
