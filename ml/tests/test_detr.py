import numpy as np
import torch

from attnlens_ml.data import render_scene
from attnlens_ml.models.detr import DetrConfig, SmallDETR
from attnlens_ml.train_detr import augment_boxes, box_mask, detr_loss


def _boxes_of(scene, size=160):
    out = []
    for inst in scene.instances:
        x, y, w, h = inst.bbox_xywh
        out.append([(x + w / 2) / size, (y + h / 2) / size, w / size, h / size])
    return np.array(out, np.float32)


def test_box_augmentation_follows_the_image():
    scene = render_scene(11)
    boxes = _boxes_of(scene)[None]
    classes = np.array([[i.class_id for i in scene.instances]])
    masks = np.stack([i.mask for i in scene.instances]).astype(np.uint8)  # [K, H, W]
    for step in range(8):
        rotated_masks, _, aug = augment_boxes(masks[None].transpose(0, 2, 3, 1), classes, boxes, step, 0)
        for k in range(len(scene.instances)):
            ys, xs = np.nonzero(rotated_masks[0, :, :, k])
            want = [
                (xs.min() + xs.max() + 1) / 320,
                (ys.min() + ys.max() + 1) / 320,
                (xs.max() - xs.min() + 1) / 160,
                (ys.max() - ys.min() + 1) / 160,
            ]
            np.testing.assert_allclose(aug[0, k], want, atol=1e-5)


def test_box_mask_marks_the_cells_under_each_box():
    m = box_mask(np.array([[1, -1]]), np.array([[[0.5, 0.5, 0.2, 0.1], [0, 0, 0, 0]]]), 10).reshape(10, 10)
    assert m[5, 4:6].all() and m[4, 4:6].all() and m.sum() == 2 * 2


def test_loss_is_finite_and_every_stream_gets_gradient():
    torch.manual_seed(0)
    cfg = DetrConfig(
        widths=(8, 8, 16),
        blocks=(1, 1),
        dim=32,
        heads=2,
        enc_layers=1,
        dec_layers=2,
        ffn=32,
        num_o2o=10,
        num_o2m=20,
        k=2,
        ks=True,
    )
    model = SmallDETR(cfg)
    classes = torch.tensor([[1, 6, -1], [3, -1, -1]])
    boxes = torch.tensor(
        [[[0.3, 0.3, 0.1, 0.1], [0.6, 0.5, 0.2, 0.1], [0, 0, 0, 0]], [[0.5, 0.5, 0.3, 0.3], [0, 0, 0, 0], [0, 0, 0, 0]]]
    )
    fg = torch.from_numpy(box_mask(classes.numpy(), boxes.numpy(), cfg.grid))
    out = model(torch.randn(2, 3, 160, 160), fg_mask=fg)
    assert len(out['streams']) == 3
    loss = detr_loss(model, out, classes, boxes)
    loss.backward()
    assert torch.isfinite(loss) and model.encoder[-1].teacher_in.weight.grad.abs().sum() > 0
