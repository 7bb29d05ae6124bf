"""One small model per architecture family the export kit knows, built with random weights (no hub), exported
with `attnlens_ml.export_kit.export`: the models of ml/tests/test_export_families.py and
tests/e2e/own-models.test.ts, and the docs' examples (docs/export/).

    python ml/scripts/export_families.py OUT_DIR [--only tv-vit,hf-detr] [--json]

writes OUT_DIR/<name>.onnx for each and prints one line per model (or, with --json, a JSON list of
{name, path, bytes, seconds, found, not_found, outputs}). Small configs, inputs of 64-160 px: a few seconds in all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from attnlens_ml.export_kit import export  # noqa: E402

# The e2e test's own label set for the DETR: ids and names the zoo does not have.
DETR_LABELS = {0: 'pallet', 1: 'forklift', 2: 'person'}


def tv_vit():
    """torchvision VisionTransformer (vit_b_16's class, tiny): a 5-class classifier on 64 px."""
    from torchvision.models import VisionTransformer

    torch.manual_seed(0)
    m = VisionTransformer(
        image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=5
    )
    torch.nn.init.normal_(m.heads.head.weight, std=0.2)  # torchvision zero-initialises the head
    return m


def tv_lraspp(num_classes: int = 7):
    """torchvision LR-ASPP on a MobileNetV3-Large (width 0.5, dilated as lraspp_mobilenet_v3_large builds it;
    its squeeze-and-excitation gates are torchvision's SqueezeExcitation)."""
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3

    torch.manual_seed(0)
    backbone = mobilenet_v3_large(weights=None, width_mult=0.5, dilated=True)
    return _lraspp_mobilenetv3(backbone, num_classes)


def _small_features():
    from torchvision.models import mobilenet_v3_large
    from torchvision.models._utils import IntermediateLayerGetter

    features = mobilenet_v3_large(weights=None, width_mult=0.25, dilated=True).features
    return IntermediateLayerGetter(features[:8], {'7': 'out'}), features[7].out_channels


def tv_deeplabv3(num_classes: int = 7):
    """torchvision DeepLabV3 (its DeepLabHead, ASPP) on a small MobileNetV3 trunk: the resnet50 builders are
    ~40 M parameters; the head is the same class."""
    from torchvision.models.segmentation.deeplabv3 import DeepLabHead, DeepLabV3

    torch.manual_seed(0)
    backbone, channels = _small_features()
    return DeepLabV3(backbone, DeepLabHead(channels, num_classes))


def tv_fcn(num_classes: int = 7):
    """torchvision FCN (its FCNHead) on a small MobileNetV3 trunk."""
    from torchvision.models.segmentation.fcn import FCN, FCNHead

    torch.manual_seed(0)
    backbone, channels = _small_features()
    return FCN(backbone, FCNHead(channels, num_classes))


def tv_mobilenet_classifier():
    """torchvision MobileNetV3-Small classifier (10 classes): a CNN with SE gates and no attention."""
    from torchvision.models import mobilenet_v3_small

    torch.manual_seed(0)
    return mobilenet_v3_small(weights=None, num_classes=10, width_mult=0.5)


def timm_vit():
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    return VisionTransformer(
        img_size=64, patch_size=16, embed_dim=32, depth=2, num_heads=2, num_classes=4, reg_tokens=2
    )


def hf_vit():
    import transformers as T

    torch.manual_seed(0)
    cfg = T.ViTConfig(
        image_size=64,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label={0: 'ok', 1: 'scratch', 2: 'dent'},
        label2id={'ok': 0, 'scratch': 1, 'dent': 2},
    )
    return T.ViTForImageClassification(cfg)


def hf_dinov2_registers():
    """DINOv2 with 4 register tokens (token order CLS, registers, patches) and a classification head."""
    import transformers as T

    torch.manual_seed(0)
    cfg = T.Dinov2WithRegistersConfig(
        image_size=64,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        num_register_tokens=4,
        num_labels=3,
    )
    return T.Dinov2WithRegistersForImageClassification(cfg)


def _detr_config(cls_config, labels: dict[int, str]):
    import transformers as T

    backbone = T.ResNetConfig(
        embedding_size=16,
        hidden_sizes=[16, 32, 32, 64],
        depths=[1, 1, 1, 1],
        layer_type='basic',
        out_features=['stage4'],
    )
    return cls_config(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone=None,
        backbone_config=backbone,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_queries=10,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )


def hf_detr():
    """Hugging Face DETR with its own label ids (pallet, forklift, person): a ResNet backbone from a config."""
    import transformers as T

    torch.manual_seed(0)
    return T.DetrForObjectDetection(_detr_config(T.DetrConfig, DETR_LABELS))


def hf_conditional_detr():
    import transformers as T

    torch.manual_seed(0)
    return T.ConditionalDetrForObjectDetection(_detr_config(T.ConditionalDetrConfig, DETR_LABELS))


def hf_segformer():
    """SegFormer (MiT encoder, 2 stages): its logits are at 1/4 of the input."""
    import transformers as T

    torch.manual_seed(0)
    cfg = T.SegformerConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[16, 32],
        num_attention_heads=[1, 2],
        patch_sizes=[7, 3],
        strides=[4, 2],
        mlp_ratios=[2, 2],
        decoder_hidden_size=32,
        num_labels=5,
    )
    return T.SegformerForSemanticSegmentation(cfg)


# name → (factory, {task, size (input px), and any other export() arguments})
FAMILIES = {
    'tv-vit': (tv_vit, dict(task='classification', size=64)),
    'tv-lraspp': (tv_lraspp, dict(task='segmentation', size=160)),
    'tv-deeplabv3': (tv_deeplabv3, dict(task='segmentation', size=96)),
    'tv-fcn': (tv_fcn, dict(task='segmentation', size=96)),
    'tv-mobilenet': (tv_mobilenet_classifier, dict(task='classification', size=64)),
    'timm-vit-reg': (timm_vit, dict(task='classification', size=64)),
    'hf-vit': (hf_vit, dict(task='classification', size=64)),
    'hf-dinov2-reg': (hf_dinov2_registers, dict(task='classification', size=64)),
    # random weights score ~0.3 at best: a low recommended threshold, so the app draws (and the e2e clicks) boxes
    'hf-detr': (hf_detr, dict(task='detection', size=128, score_threshold=0.05)),
    'hf-conditional-detr': (hf_conditional_detr, dict(task='detection', size=128)),
    'hf-segformer': (hf_segformer, dict(task='segmentation', size=64)),
}
E2E = ['tv-vit', 'tv-lraspp', 'hf-detr', 'hf-dinov2-reg']


def export_family(name: str, out_dir: Path, verbose: bool = False, **overrides):
    factory, spec = FAMILIES[name]
    spec = {**spec, **overrides}
    size = spec.pop('size')
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    return export(factory(), x, Path(out_dir) / f'{name}.onnx', role='student', model_id=name, verbose=verbose, **spec)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', type=Path)
    p.add_argument('--only', help=f'comma-separated names (default: all of {", ".join(FAMILIES)})')
    p.add_argument('--e2e', action='store_true', help=f'the e2e set: {", ".join(E2E)}')
    p.add_argument('--json', action='store_true')
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = E2E if args.e2e else args.only.split(',') if args.only else list(FAMILIES)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    rows = []
    for name in names:
        t = time.perf_counter()
        r = export_family(name, args.out)
        rows.append(
            {
                'name': name,
                'path': str(r.path),
                'bytes': r.bytes,
                'seconds': round(time.perf_counter() - t, 3),
                'found': r.found,
                'not_found': r.not_found,
                'outputs': [[o['name'], o['role'], o['shape']] for o in r.contract['outputs']],
            }
        )
        if not args.json:
            print(
                f'{name:<22} {r.bytes / 1e6:6.2f} MB {rows[-1]["seconds"]:6.2f} s  {len(r.contract["outputs"])} outputs'
            )
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
