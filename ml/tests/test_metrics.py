import numpy as np
import pytest

from attnlens_ml.metrics import (best_patch_mask, confusion_matrix, cst_score_mask, dino_mass_mask, dino_rule_oracles,
                                 iou_from_confusion, mask_iou, upsample_bilinear, upsample_patch_mask)


def test_dino_mask_keeps_smallest_set_holding_the_mass():
    a = np.array([[0.5, 0.3, 0.1, 0.1]])
    assert dino_mass_mask(a, 0.6)[0].tolist() == [True, True, False, False]
    assert dino_mass_mask(a, 0.4)[0].tolist() == [True, False, False, False]
    assert dino_mass_mask(a, 1.0)[0].all()


def test_dino_mask_is_per_head_and_order_free():
    a = np.array([[0.1, 0.1, 0.3, 0.5], [0.7, 0.1, 0.1, 0.1]])
    m = dino_mass_mask(a, 0.6)
    assert m.tolist() == [[False, False, True, True], [True, False, False, False]]


def test_cst_mask_maps_cosine_to_unit_interval():
    cos = np.array([[1.0, -1.0, -0.3], [1.0, -1.0, -0.1]])  # mean: 1, -1, -0.2 → 1, 0, 0.4
    assert cst_score_mask(cos, 0.39).tolist() == [True, False, True]
    assert cst_score_mask(cos, 0.41).tolist() == [True, False, False]


def test_upsampling_conventions():
    m = upsample_patch_mask(np.array([1, 0, 0, 1], bool), (2, 2), 3)
    assert m.shape == (6, 6) and m[:3, :3].all() and not m[:3, 3:].any()
    b = upsample_bilinear(np.array([0.0, 1.0, 0.0, 1.0]), (2, 2), (3, 5))
    assert np.allclose(b[0], [0, 0.25, 0.5, 0.75, 1])  # align_corners=True: corners hit grid values


def test_best_patch_mask_is_optimal_on_a_small_case():
    fg = np.zeros((4, 4), bool)
    fg[0:2, 0:2] = True  # one full patch
    fg[2, 2] = True  # a quarter of another
    mask = best_patch_mask(fg, 2)
    assert mask.tolist() == [True, False, False, False]
    assert mask_iou(upsample_patch_mask(mask, (2, 2), 2), fg) == 4 / 5


def test_iou_from_confusion():
    t = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    iou = iou_from_confusion(confusion_matrix(t, p, 4))
    assert np.allclose(iou[:3], [1 / 3, 2 / 3, 0.0]) and np.isnan(iou[3])


def test_dino_rule_oracles_flat_map_keeps_the_mass_share_of_patches():
    # 10 fully covered 8-px patches: a flat map keeps the smallest set holding 55 % of the mass, 6 of them
    # (IoU 0.6); the fraction map is flat too here. Add half-covered patches: the fraction map keeps the full
    # ones first and does better.
    fg = np.zeros((80, 80), bool)
    fg[:8, :80] = True
    flat, fraction = dino_rule_oracles(fg, 8, 0.55)
    assert flat == pytest.approx(0.6) and fraction == pytest.approx(0.6)
    fg[8:12, :80] = True  # the next row of patches is half foreground
    flat, fraction = dino_rule_oracles(fg, 8, 0.6)
    assert fraction > flat
    assert dino_rule_oracles(np.zeros((16, 16), bool), 8, 0.6) == (1.0, 1.0)
