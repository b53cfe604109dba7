"""Voting rules against hand-computed examples (Geirhos et al. 2024, Sec. 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from procmem.memory.voting import RULE_TABLE, RULES, VotingError, make_rule, predict, topk_classes, vote

LABELS = np.array([[2, 0, 2, -1]])
SIMS = np.array([[0.9, 0.8, 0.5, 0.0]])


def test_plurality_counts_and_ignores_padding():
    s = vote(LABELS, SIMS, "plurality", 3)
    assert s.tolist() == [[1.0, 0.0, 2.0]]
    assert s.dtype == np.float64


def test_distance_uses_euclidean_distance_between_unit_vectors():
    s = vote(LABELS, SIMS, "distance", 3)
    d = lambda c: math.exp(-math.sqrt(2 - 2 * c))  # noqa: E731
    assert s[0, 0] == pytest.approx(d(0.8))
    assert s[0, 2] == pytest.approx(d(0.9) + d(0.5))
    assert s[0, 1] == 0


def test_softmax_uses_caron_temperature():
    s = vote(LABELS, SIMS, "softmax", 3)
    assert s[0, 0] == pytest.approx(math.exp(0.8 / 0.07))
    assert s[0, 2] == pytest.approx(math.exp(0.9 / 0.07) + math.exp(0.5 / 0.07))
    s2 = vote(LABELS, SIMS, "softmax", 3, tau=1.0)
    assert s2[0, 0] == pytest.approx(math.exp(0.8))


def test_rank_weights_start_at_rank_one():
    s = vote(LABELS, SIMS, "rank", 3)
    assert s[0, 2] == pytest.approx(1 / 3 + 1 / 5)
    assert s[0, 0] == pytest.approx(1 / 4)
    s1 = vote(LABELS, SIMS, "rank", 3, alpha=0.0)
    assert s1[0, 2] == pytest.approx(1 + 1 / 3)


def test_weights_multiply_each_neighbour():
    s = vote(LABELS, SIMS, "plurality", 3, weights=np.array([[0.5, 3.0, 0.25, 9.0]]))
    assert s.tolist() == [[3.0, 0.0, 0.75]]


def test_predict_tie_goes_to_smallest_class_and_empty_row_to_minus_one():
    scores = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0], [5.0, 0.0, 1.0]])
    assert predict(scores).tolist() == [1, -1, 0]
    assert predict(scores).dtype == np.int64
    assert topk_classes(scores, 2).tolist() == [[1, 2], [0, 1], [0, 2]]


def test_rank_voting_stable_as_k_grows_where_plurality_decays():
    # Each query's 5 nearest neighbours carry its true class 0; beyond them a distractor
    # class 1 is twice as frequent as class 0 (the regime where plurality decays, Geirhos Fig. 2).
    tail = np.array([1, 2, 1, 0, 3, 1, 4, 5, 1, 0, 6, 1, 7, 8, 1, 0, 9, 2, 3, 4])
    k_max = 200
    row = np.concatenate([np.zeros(5, int), np.tile(tail, k_max // len(tail) + 1)])[:k_max]
    labels = np.tile(row, (4, 1))
    sims = np.tile(np.linspace(0.9, 0.2, k_max), (4, 1))
    acc = {r: [] for r in ("plurality", "rank")}
    for k in (1, 5, 10, 50, 200):
        for r in acc:
            acc[r].append(float(np.mean(predict(vote(labels[:, :k], sims[:, :k], r, 10)) == 0)))
    assert acc["rank"] == [1.0] * 5
    assert acc["plurality"][:2] == [1.0, 1.0] and acc["plurality"][-1] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(labels=[[0, 5]], sims=[[0.1, 0.2]], rule="rank", num_classes=3), "outside 0..2"),
    (dict(labels=[[0, 1]], sims=[[0.1]], rule="rank", num_classes=3), "same shape"),
    (dict(labels=[[0, 1]], sims=[[0.1, 0.2]], rule="vibes", num_classes=3), "unknown voting rule"),
    (dict(labels=[[0, 1]], sims=[[np.nan, 0.2]], rule="rank", num_classes=3), "NaN"),
    (dict(labels=[[0.0, 1.0]], sims=[[0.1, 0.2]], rule="rank", num_classes=3), "integers"),
    (dict(labels=[[0, 1]], sims=[[0.1, 0.2]], rule="softmax", num_classes=3, tau=0), "tau"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(VotingError, match=match):
        vote(**kwargs)


def test_each_rule_is_an_entry_that_owns_its_parameters():
    assert RULES == ("plurality", "distance", "softmax", "rank")
    assert {name: RULE_TABLE[name].params for name in RULES} == {
        "plurality": {}, "distance": {}, "softmax": {"tau": 0.07}, "rank": {"alpha": 2.0}}
    assert make_rule("softmax").values == {"tau": 0.07}
    assert make_rule("rank", tau=0.0, alpha=0.5).values == {"alpha": 0.5}  # tau is not rank's
    with pytest.raises(VotingError, match="alpha > -1"):
        make_rule("rank", alpha=-1.0)
    with pytest.raises(VotingError, match="choose one of plurality, distance, softmax, rank"):
        make_rule("vibes")
