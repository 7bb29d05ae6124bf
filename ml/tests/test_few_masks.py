"""Few-masks arms (train_seg.ARMS, experiments.attnfd-few-masks): batches, counts, loss terms, paired bootstrap."""

import numpy as np
import pytest
import torch

from attnlens_ml import common, train_seg
from attnlens_ml.experiments import FEW_MASKS, FULL_MASKS, MASK_EXPERIMENTS, paired_difference, run_name
from attnlens_ml.metrics import mean_iou
from attnlens_ml.models.cbam_seg import SITES, CBAMSegmenter, Connector, SegConfig
from attnlens_ml.train_seg import ARMS, arm_batches, fitnets_loss, labelled_subset, pseudo_labels, train_segmenter

TINY_T = SegConfig((8, 8, 8, 12), (1, 1, 1), 8, 4, 8)
TINY_S = SegConfig((4, 4, 4, 6), (1, 1, 1), 4, 4, 4)


def test_supervised_draws_only_labelled_and_every_arm_the_same_labelled_batch():
    labelled = labelled_subset(4000, 0.1, seed=0)
    assert labelled.sum() == 400
    for step in range(0, 1600, 37):
        ce, extra = arm_batches('supervised', labelled, 16, step, 0)
        assert extra is None and len(ce) == 16 and len(set(ce)) == 16 and labelled[ce].all()
        for arm in ARMS[1:]:
            ce2, extra2 = arm_batches(arm, labelled, 16, step, 0)
            np.testing.assert_array_equal(ce, ce2)  # same labelled images, same order, every arm
            assert len(extra2) == 16 and not labelled[extra2].all()  # ordinary batch from all images


def test_full_masks_arms_read_every_image_and_have_runs_of_their_own():
    fraction, _, key, arms = MASK_EXPERIMENTS[FULL_MASKS]
    assert fraction == 1.0 and key == 'full_masks_controls'
    assert 'pseudo' not in arms and {'supervised', 'attnfd'} <= set(arms)  # nothing to pseudo-label
    labelled = labelled_subset(4000, fraction, seed=1)
    assert labelled.all()
    drawn = np.concatenate([arm_batches('supervised', labelled, 16, step, 1)[0] for step in range(1600)])
    assert len(np.unique(drawn)) > 3900  # the labelled batch now ranges over every training image
    names = {run_name(a, s, e) for e in (FEW_MASKS, FULL_MASKS) for a in MASK_EXPERIMENTS[e][3] for s in range(3)}
    assert len(names) == 3 * (len(MASK_EXPERIMENTS[FEW_MASKS][3]) + len(arms))  # no run overwrites another's
    assert run_name('attnfd', 0) == 'fm10-attnfd-s0'  # the few-masks runs keep their names (resumable)


@pytest.fixture
def tiny_split(tmp_path, monkeypatch):
    monkeypatch.setattr(common, 'RUNS', tmp_path)
    rng = np.random.default_rng(0)
    split = {
        'images': rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
        'semantic': rng.integers(0, 7, (40, 32, 32), dtype=np.uint8),
    }
    monkeypatch.setattr(train_seg, 'load_split', lambda name: split)
    return split


def test_every_arm_counts_the_same_labelled_presentations_and_steps(tiny_split):
    torch.manual_seed(0)
    teacher = CBAMSegmenter(TINY_T).eval()
    counted = {}
    for arm in ARMS:
        info = train_segmenter(
            f'fm-{arm}',
            TINY_S,
            steps=3,
            lr=1e-3,
            batch=4,
            teacher=None if arm == 'supervised' else teacher,
            beta=0.3 if arm == 'attnfd' else 0.0,
            labelled_fraction=0.25,
            arm=arm,
        )
        counted[arm] = (info['steps'], info['labelled_presentations'], info['label_free_term_images'])
    assert {c[:2] for c in counted.values()} == {(3, 12)}
    assert counted['supervised'][2] == 0 and counted['fitnets'][2] == counted['attnfd'][2] == 12
    assert 0 < counted['pseudo'][2] <= 12  # unlabelled images of the ordinary batches only
    assert not teacher.cbam['backbone']._forward_pre_hooks  # fitnets' taps are removed from the shared teacher


def test_arms_refuse_a_missing_or_extra_teacher():
    with pytest.raises(ValueError):
        train_segmenter('x', TINY_S, 1, 1e-3, arm='attnfd')
    with pytest.raises(ValueError):
        train_segmenter('x', TINY_S, 1, 1e-3, arm='supervised', teacher=CBAMSegmenter(TINY_T))


def identity_connector(c: int) -> Connector:
    conn = Connector(c, c).eval()
    with torch.no_grad():
        conn.proj[0].weight.copy_(torch.eye(c)[:, :, None, None])
        conn.proj[1].running_var.fill_(1 - conn.proj[1].eps)
    return conn


def test_fitnets_loss_is_zero_when_projected_student_equals_teacher():
    feats = {s: torch.randn(2, 3, 5, 5) for s in SITES}
    conns = torch.nn.ModuleDict({s: identity_connector(3) for s in SITES})
    assert float(fitnets_loss(feats, {s: f.clone() for s, f in feats.items()}, conns)) == pytest.approx(0, abs=1e-10)
    # hand case: each site off by 1 everywhere → MSE 1 per site, 3 sites
    shifted = {s: f + 1 for s, f in feats.items()}
    assert float(fitnets_loss(shifted, feats, conns)) == pytest.approx(3.0, rel=1e-5)


def test_fitnets_reads_features_before_cbam():
    torch.manual_seed(0)
    model = CBAMSegmenter(TINY_S).eval()
    tap = train_seg.PreCBAMTap(model)
    model(torch.randn(1, 3, 32, 32))
    for s in SITES:
        cbam = model.cbam[s]
        torch.testing.assert_close(cbam(tap.features[s]), cbam.last['refined'])  # its input, not its output
        assert not torch.equal(tap.features[s], cbam.last['refined'])
    tap.remove()
    assert not model.cbam['backbone']._forward_pre_hooks


def test_pseudo_labels_are_the_teacher_argmax_on_unlabelled_images_only():
    logits = torch.randn(3, 7, 4, 4)
    has_mask = torch.tensor([False, True, False])
    target = pseudo_labels(logits.clone(), has_mask)
    torch.testing.assert_close(target[[0, 2]], logits.argmax(1)[[0, 2]])
    assert (target[1] == -100).all()
    # the ignored image adds nothing to the loss: its logits get no gradient
    student = torch.randn(3, 7, 4, 4, requires_grad=True)
    torch.nn.functional.cross_entropy(student, target).backward()
    assert student.grad[1].abs().sum() == 0 and student.grad[0].abs().sum() > 0


def test_paired_difference_pools_confusions_per_seed():
    # 2 classes, 3 images. Arm y gets image 2 entirely wrong; arm x gets everything right (seed 0 and 1).
    right = np.array([[[5, 0], [0, 3]], [[4, 0], [0, 4]], [[6, 0], [0, 2]]])
    wrong2 = right.copy()
    wrong2[2] = [[0, 6], [2, 0]]
    x = {0: right, 1: right, 2: right}  # seed 2 has no partner: left out
    y = {0: wrong2, 1: right}
    d = paired_difference(x, y)
    # pooled over all images: x mIoU 1; y seed 0: IoUs 9/17 and 7/15; y seed 1: 1 — y averages its seeds
    assert mean_iou(wrong2.sum(0)) == pytest.approx((9 / 17 + 7 / 15) / 2)
    want_y = (mean_iou(wrong2.sum(0)) + 1.0) / 2
    assert d['seeds'] == [0, 1] and d['images'] == 3
    assert d['diff'] == pytest.approx(1.0 - want_y)
    # x is never worse; at most y's seed 0 scores 0 (a resample of image 2 only), so A − B ≤ 1 − 0.5
    assert d['ci'][0] >= 0 and d['ci'][1] <= 0.5
    same = paired_difference({0: right}, {0: right})
    assert same['diff'] == 0 and same['ci'] == [0, 0]
    assert paired_difference({0: right}, {1: right}) is None
