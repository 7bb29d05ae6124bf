import numpy as np
import pytest

from attnlens_ml.metrics import (
    best_patch_mask,
    centre_disc,
    coco_box_ap,
    confusion_matrix,
    cst_score_mask,
    detections,
    dino_mass_mask,
    dino_rule_oracles,
    evaluate_segmentation,
    head_conventions,
    iou_from_confusion,
    label_metrics,
    mask_iou,
    mean_iou,
    pseudo_mask_metrics,
    segmentation_metrics,
    upsample_bilinear,
    upsample_patch_mask,
)


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


def test_segmentation_metrics_by_hand():
    t = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    conf = confusion_matrix(t, p, 4)
    assert mean_iou(conf) == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)  # class 3 absent: left out, not a 0
    assert segmentation_metrics(conf, ['a', 'b', 'c', 'd']) == {
        'miou': 0.333333,
        'iou_per_class': {'a': 0.333333, 'b': 0.666667, 'c': 0.0, 'd': None},
        'pixel_accuracy': 0.6,
    }


def test_evaluate_segmentation_does_not_depend_on_the_batch():
    rng = np.random.default_rng(0)
    semantic = rng.integers(0, 7, (5, 6, 6))
    images = np.broadcast_to(np.arange(5, dtype=np.uint8)[:, None, None, None], (5, 6, 6, 3))  # pixel = index
    noisy = np.where(rng.random(semantic.shape) < 0.3, (semantic + 1) % 7, semantic)

    def predict(x):  # a "model" that is right 70 % of the time
        return noisy[x[:, 0, 0, 0]]

    whole = evaluate_segmentation(predict, images, semantic, batch=5)
    assert evaluate_segmentation(predict, images, semantic, batch=2) == whole
    assert whole == {**segmentation_metrics(confusion_matrix(semantic, noisy)), 'images': 5}
    assert whole['pixel_accuracy'] == pytest.approx((noisy == semantic).mean(), abs=1e-6)


def test_label_metrics_by_hand():
    logits = np.array([[1.0, -1.0], [1.0, 1.0]])
    present = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert label_metrics(logits, present) == {'exact_match': 0.5, 'label_accuracy': 0.75}


def test_detections_rank_query_class_pairs():
    logits = np.array([[0.0, 3.0], [2.0, -1.0]])
    boxes = np.array([[0.1, 0.1, 0.1, 0.1], [0.5, 0.5, 0.2, 0.2]])
    scores, classes, b = detections(logits, boxes, top=2)
    assert classes.tolist() == [2, 1] and np.allclose(b[0], boxes[0]) and scores[0] > scores[1]


GT_CLASSES = np.array([[1, -1]])  # one image, one box of class 1 (20×20 px in a 100 px image), one padding row
GT_BOXES = np.array([[[0.5, 0.5, 0.2, 0.2], [0, 0, 0, 0]]])


def _ap(scores, classes, boxes):
    return coco_box_ap([(np.array(scores), np.array(classes), np.array(boxes))], GT_CLASSES, GT_BOXES, 100)


def test_coco_box_ap_perfect_and_empty():
    assert _ap([0.9], [1], [[0.5, 0.5, 0.2, 0.2]]) == {
        'ap': 1.0,
        'ap50': 1.0,
        'ap75': 1.0,
        'ap_small': 1.0,
        'images': 1,
    }
    assert _ap([], [], np.zeros((0, 4)))['ap'] == 0.0


def test_coco_box_ap_by_hand():
    # A confident miss ranked above the hit: precision 1/2 at recall 1 at every IoU threshold → AP 0.5.
    got = _ap([0.9, 0.5], [1, 1], [[0.85, 0.85, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]])
    assert got['ap'] == got['ap50'] == got['ap75'] == got['ap_small'] == 0.5
    # One box 3.2 px off: IoU 16.8/23.2 = 0.724, a hit at thresholds 0.50 … 0.70 (5 of 10) → AP 0.5.
    got = _ap([0.9], [1], [[0.532, 0.5, 0.2, 0.2]])
    assert (got['ap'], got['ap50'], got['ap75']) == (0.5, 1.0, 0.0)
    # The right box with the wrong class is no hit.
    assert _ap([0.9], [2], [[0.5, 0.5, 0.2, 0.2]])['ap'] == 0.0


def test_pseudo_mask_metrics_by_hand():
    semantic = np.zeros((1, 16, 16), np.uint8)
    semantic[0, :8, :8] = 3  # foreground = patch 0 of a 2×2 grid of 8 px patches
    attention = np.array(
        [
            [
                [[0.1, 0.2, 0.3, 0.4]],  # layer 0: the 60 % mass is in patches 2, 3 → IoU 0
                [[0.7, 0.1, 0.1, 0.1]],
            ]
        ]
    )  # layer 1: patch 0 alone holds 70 % → IoU 1
    cosine = np.ones((1, 1, 4))  # CST score 1 everywhere: the whole image, IoU 64/256
    m = pseudo_mask_metrics(attention, cosine, semantic, 8, per_head=True)
    # centre disc, r = 5.6 px around (8, 8): 97 pixels, 19 of them in the foreground quadrant
    assert centre_disc((16, 16)).sum() == 97 and (centre_disc((16, 16)) & (semantic[0] > 0)).sum() == 19
    assert m == {
        'images': 1,
        'dino_mass': 0.6,
        'dino_iou_last_layer': 1.0,
        'dino_iou_per_layer': [0.0, 1.0],
        'dino_iou_last_layer_per_head': [1.0],
        'cst_score': 0.4,
        'cst_iou': 0.25,
        'cst_iou_patch_nearest': 0.25,
        'baseline_whole_image_iou': 0.25,
        'baseline_centre_disc_iou': round(19 / 142, 6),
        'ceiling_patch_iou': 1.0,
        'dino_rule_on_flat_foreground_iou': 1.0,
        'dino_rule_on_fraction_map_iou': 1.0,
    }


def test_head_conventions_by_hand():
    # 16×16 px, a 2×2 grid of 8-px patches; two objects: patch 0 (A) and patch 3 (B). Each head looks at one.
    fg = np.zeros((1, 16, 16), bool)
    a, b = fg[0].copy(), fg[0].copy()
    a[:8, :8] = True
    b[8:, 8:] = True
    fg[0] = a | b
    heads = np.array([[[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]]])  # [B=1, H=2, N=4]
    got = head_conventions(heads, fg, [[a, b]], 8)
    # head mean [0.4, .1, .1, .4]: its 60 % mass is patches 0 and 3 = the foreground → 1; each head alone keeps
    # its own patch → 64/128 = 0.5; their union → 1; the best head per object finds each object exactly → 1
    assert got == {
        'head_mean': 1.0,
        'per_head': [0.5, 0.5],
        'mean_of_heads': 0.5,
        'union_of_heads': 1.0,
        'best_head_per_image': 0.5,
        'best_head_per_object': 1.0,
        'objects': 2,
    }
    assert 'best_head_per_object' not in head_conventions(heads, fg, None, 8)


def test_training_report_is_the_same_measurement_under_its_recorded_names():
    import torch

    from attnlens_ml.models.vit import PatchViT, ViTConfig
    from attnlens_ml.train_vit import pseudo_mask_report

    torch.manual_seed(0)
    model = PatchViT(ViTConfig(dim=16, depth=2, heads=2))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, 160, 160, 3), dtype=np.uint8)
    semantic = np.zeros((2, 160, 160), np.uint8)
    semantic[0, 20:70, 30:90] = 1
    semantic[1, 100:150, 10:40] = 6
    report = pseudo_mask_report(model, images, semantic, torch.device('cpu'))
    with torch.no_grad():
        _, rows, cos = model(torch.from_numpy(((images.transpose(0, 3, 1, 2) / 255.0 - 0.5) / 0.25).astype(np.float32)))
    m = pseudo_mask_metrics(rows.numpy(), cos.numpy(), semantic, 8, per_head=True, oracles=False, digits=None)
    assert list(report) == [
        'images',
        'dino_mass',
        'dino_iou_last_layer_head_mean',
        'dino_iou_per_layer_head_mean',
        'dino_iou_last_layer_per_head',
        'cst_score',
        'cst_iou_bilinear',
        'cst_iou_patch_nearest',
        'baseline_whole_image_iou',
        'baseline_centre_disc_iou',
        'ceiling_best_patch_mask_iou',
    ]
    for got, want in zip(report.values(), m.values()):
        assert np.allclose(got, want, atol=1e-6)
