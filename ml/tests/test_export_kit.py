"""The export kit on architectures this project did not write: timm's ViT and CBAM ResNet (random weights)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

timm = pytest.importorskip('timm')

from attnlens_ml.contract import read_contract, validate_contract  # noqa: E402
from attnlens_ml.data import CLASS_COLORS, CLASS_NAMES  # noqa: E402
from attnlens_ml.export_kit import (  # noqa: E402
    ContractViolation,
    Tap,
    cbam_site_outputs,
    cls_row,  # noqa: E402
    explicit_timm_attention,
    export_with_contract,
    make_contract,
    timm_vit_attention,
)


def _contract(model_id, family, task, outputs, size, methods):
    return make_contract(
        model_id=model_id,
        name=model_id,
        task=task,
        role='teacher',
        family=family,
        input_name='image',
        input_hw=(size, size),
        mean=(0.5,) * 3,
        std=(0.25,) * 3,
        class_names=CLASS_NAMES,
        class_colors=CLASS_COLORS,
        outputs=outputs,
        methods=methods,
    )


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {'image': x.numpy()})))


@pytest.fixture(scope='module')
def timm_vit():
    torch.manual_seed(0)
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(img_size=64, patch_size=16, embed_dim=64, depth=3, num_heads=2, num_classes=6).eval()


def _vit_export(model, path):
    drops = explicit_timm_attention(model)
    taps = {f'attn{i}': Tap(d, cls_row, use_input=True) for i, d in enumerate(drops)}
    outputs = [
        {'name': 'logits', 'role': 'multilabel_logits', 'shape': [1, 6], 'labels': [1, 2, 3, 4, 5, 6]},
        {
            'name': 'cls_attention',
            'role': 'cls_attention',
            'shape': [1, 3, 2, 16],
            'layout': 'batch,layer,head,key',
            'layers': [0, 1, 2],
            'grid': [4, 4],
            'patch': 16,
            'cls_token': 'leads',
            'keys': 'patches',
            'upsample': 'nearest',
        },
    ]
    contract = _contract('timm-vit', 'vit', 'classification', outputs, 64, ['vit-pseudo-mask'])
    collect = lambda out, t: {'logits': out, 'cls_attention': torch.stack([t[f'attn{i}'] for i in range(3)], 1)}  # noqa: E731
    export_with_contract(model, torch.zeros(1, 3, 64, 64), contract, path, collect, taps)
    return contract


def test_timm_vit_exports_cls_attention_matching_pytorch(tmp_path, timm_vit):
    path = tmp_path / 'vit.onnx'
    contract = _vit_export(timm_vit, path)
    proto = onnx.load(str(path))
    assert read_contract(proto) == contract and validate_contract(contract) == []
    x = torch.randn(1, 3, 64, 64)
    got = _run(path, x)
    # Reference computed independently of the hooks: q·k softmax from timm's own qkv projection.
    ref = torch.stack([m[:, :, 0, 1:] for m in _reference_attention(timm_vit, x)], 1).numpy()
    with torch.no_grad():
        logits = timm_vit(x).numpy()
    assert got['cls_attention'].shape == (1, 3, 2, 16)
    np.testing.assert_allclose(got['cls_attention'], ref, atol=1e-5)
    np.testing.assert_allclose(got['logits'], logits, atol=1e-4)


def _reference_attention(vit, x):
    """Every block's full softmax(q·kᵀ·scale) from timm's own qkv projection, without hooks: [L, 1, H, T, T]."""
    with torch.no_grad():
        tokens = vit._pos_embed(vit.patch_embed(x))
        mats = []
        for blk in vit.blocks:
            a = blk.attn
            h = blk.norm1(tokens)
            qkv = a.qkv(h).reshape(1, h.shape[1], 3, a.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k = a.q_norm(qkv[0]), a.k_norm(qkv[1])
            mats.append(((q * a.scale) @ k.transpose(-2, -1)).softmax(-1))
            tokens = blk(tokens)
    return mats


def _export_attention(vit, path, **kw):
    attn = timm_vit_attention(vit, **kw)
    outputs = [
        {'name': 'logits', 'role': 'multilabel_logits', 'shape': [1, 6], 'labels': [1, 2, 3, 4, 5, 6]},
        *attn.outputs,
    ]
    contract = _contract(
        'timm-vit-full', 'vit', 'classification', outputs, 64, ['vit-pseudo-mask'] if kw.get('cls_rows', True) else None
    )
    export_with_contract(
        vit, torch.zeros(1, 3, 64, 64), contract, path, lambda out, t: {'logits': out, **attn.collect(t)}, attn.taps
    )
    return contract


def test_timm_vit_exports_full_self_attention_matching_pytorch(tmp_path, timm_vit):
    path = tmp_path / 'vit-full.onnx'
    contract = _export_attention(timm_vit, path)
    assert contract['version'] == '1.2' and validate_contract(contract) == []
    full = next(o for o in contract['outputs'] if o['role'] == 'self_attention')
    assert full['shape'] == [1, 3, 2, 17, 17] and full['cls_token'] == 'leads' and full['grid'] == [4, 4]
    assert read_contract(onnx.load(str(path))) == contract
    x = torch.randn(1, 3, 64, 64)
    got = _run(path, x)
    ref = torch.stack(_reference_attention(timm_vit, x), 1).numpy()  # [1, L, H, 17, 17]
    np.testing.assert_allclose(got['self_attention'], ref, atol=1e-5)
    np.testing.assert_allclose(got['self_attention'].sum(-1), 1, atol=1e-5)
    # the CLS query's row over the patch keys is the cls_attention output
    np.testing.assert_allclose(got['self_attention'][:, :, :, 0, 1:], got['cls_attention'], atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(got['logits'], timm_vit(x).numpy(), atol=1e-4)


def test_timm_vit_with_register_tokens_drops_them_from_the_matrix(tmp_path):
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(1)
    vit = VisionTransformer(
        img_size=64, patch_size=16, embed_dim=64, depth=2, num_heads=2, num_classes=6, reg_tokens=2
    ).eval()
    path = tmp_path / 'vit-reg.onnx'
    contract = _export_attention(vit, path, cls_rows=False)
    assert [o['role'] for o in contract['outputs']] == ['multilabel_logits', 'self_attention']
    assert contract['outputs'][1]['shape'] == [1, 2, 2, 17, 17]  # CLS + 16 patches; the 2 registers are gone
    x = torch.randn(1, 3, 64, 64)
    got = _run(path, x)['self_attention']
    keep = [0] + list(range(3, 19))  # timm order: CLS, 2 registers, 16 patches
    ref = torch.stack(_reference_attention(vit, x), 1)[:, :, :, keep][:, :, :, :, keep].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert (got.sum(-1) < 1 - 1e-4).any()  # the registers' share of each row went with them


def test_timm_cbam_resnet_exports_gates(tmp_path):
    torch.manual_seed(0)
    model = timm.create_model('resnet18', pretrained=False, num_classes=6, block_args=dict(attn_layer='cbam')).eval()
    cbam = model.layer4[1].se  # timm names the attention module 'se' whatever its kind
    taps = {
        'cbam.layer4.channel': Tap(cbam.channel.gate, lambda g: g.flatten(1)),
        'cbam.layer4.spatial': Tap(cbam.spatial.gate),
    }
    outputs = [
        {'name': 'logits', 'role': 'class_logits', 'shape': [1, 6], 'labels': [1, 2, 3, 4, 5, 6]},
        *cbam_site_outputs('layer4', 512, (2, 2), 32, refined=False),
    ]
    contract = _contract('timm-cbam-resnet18', 'cbam-resnet', 'classification', outputs, 64, ['attnfd'])
    path = tmp_path / 'resnet.onnx'
    export_with_contract(model, torch.zeros(1, 3, 64, 64), contract, path, lambda out, t: {'logits': out, **t}, taps)
    x = torch.randn(1, 3, 64, 64)
    got = _run(path, x)
    captured = {}
    h1 = cbam.channel.gate.register_forward_hook(lambda m, i, o: captured.update(c=o.flatten(1)))
    h2 = cbam.spatial.gate.register_forward_hook(lambda m, i, o: captured.update(s=o))
    with torch.no_grad():
        logits = model(x)
    h1.remove(), h2.remove()
    np.testing.assert_allclose(got['logits'], logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(got['cbam.layer4.channel'], captured['c'].numpy(), atol=1e-5)
    np.testing.assert_allclose(got['cbam.layer4.spatial'], captured['s'].numpy(), atol=1e-5)
    assert ((got['cbam.layer4.spatial'] >= 0) & (got['cbam.layer4.spatial'] <= 1)).all()


def test_export_refuses_a_contract_that_lies_about_a_shape(tmp_path, timm_vit):
    drops = explicit_timm_attention(timm_vit)
    outputs = [{'name': 'logits', 'role': 'multilabel_logits', 'shape': [1, 7], 'labels': [0, 1, 2, 3, 4, 5, 6]}]
    contract = _contract('liar', 'vit', 'classification', outputs, 64, None)
    with pytest.raises(ContractViolation) as err:
        export_with_contract(
            timm_vit,
            torch.zeros(1, 3, 64, 64),
            contract,
            tmp_path / 'x.onnx',
            lambda out, t: {'logits': out},
            {'a': Tap(drops[0], use_input=True)},
        )
    assert [e.code for e in err.value.errors] == ['output-shape']
    assert '[1, 6] in the graph but [1, 7] in the contract' in str(err.value)


def test_export_refuses_an_invalid_contract_before_exporting(tmp_path, timm_vit):
    contract = _contract(
        'bad', 'vit', 'classification', [{'name': 'x', 'role': 'cls_attention', 'shape': [1, 2]}], 64, None
    )
    with pytest.raises(ContractViolation) as err:
        export_with_contract(timm_vit, torch.zeros(1, 3, 64, 64), contract, tmp_path / 'y.onnx', lambda o, t: {})
    assert err.value.errors[0].code == 'schema'
    assert not (tmp_path / 'y.onnx').exists()
