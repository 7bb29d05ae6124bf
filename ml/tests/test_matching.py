import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from attnlens_ml.matching import generalized_iou, hungarian_match, linear_assignment


@pytest.mark.parametrize('shape', [(1, 1), (3, 3), (4, 7), (7, 4), (12, 50), (50, 12), (30, 30)])
def test_matches_scipy_on_random_matrices(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        cost = rng.normal(size=shape) * rng.choice([1, 100])
        r, c = linear_assignment(cost)
        sr, sc = linear_sum_assignment(cost)
        assert np.isclose(cost[r, c].sum(), cost[sr, sc].sum())
        assert len(set(r)) == len(r) == min(shape) and len(set(c)) == len(c)
        assert list(r) == sorted(r)


def test_matches_brute_force_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(50):
        cost = rng.integers(0, 3, size=(4, 5)).astype(float)  # many ties
        best = min(sum(cost[i, p[i]] for i in range(4)) for p in itertools.permutations(range(5), 4))
        r, c = linear_assignment(cost)
        assert cost[r, c].sum() == best


def test_empty():
    r, c = linear_assignment(np.zeros((0, 5)))
    assert r.size == 0 and c.size == 0


def test_giou_of_identical_and_disjoint_boxes():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0]])
    g = generalized_iou(a, b)[0]
    assert g[0] == pytest.approx(1.0) and g[1] == pytest.approx(-1 / 3)


def test_one_to_many_assigns_k_queries_per_object():
    torch.manual_seed(0)
    logits = torch.randn(20, 6)
    boxes = torch.rand(20, 4) * 0.5 + 0.25
    gt_c = torch.tensor([1, 4])
    gt_b = torch.tensor([[0.3, 0.3, 0.1, 0.1], [0.7, 0.6, 0.2, 0.1]])
    q, g = hungarian_match(logits, boxes, gt_c, gt_b, repeat=3)
    assert len(set(q.tolist())) == 6 and sorted(g.tolist()) == [0, 0, 0, 1, 1, 1]
