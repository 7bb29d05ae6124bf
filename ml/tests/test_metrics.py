import numpy as np

from attnlens_ml.metrics import (best_patch_mask, confusion_matrix, cst_score_mask, dino_mass_mask,
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
