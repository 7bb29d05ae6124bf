"""export() on each architecture family, built with random weights (no hub): export → the embedded contract
validates → onnxruntime's outputs equal PyTorch's, each checked against a reference computed without the kit
(the untouched model's own outputs, its own attention weights)."""

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attnlens_ml.contract import read_contract, validate_contract
from attnlens_ml.export_kit import ExportError, export, per_head_mha_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))
import export_families as fam  # noqa: E402

MB = 1_000_000


def _x(size, seed=1):
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {'image': x.numpy()})))


def _exported(tmp_path_factory, name, **kw):
    out = tmp_path_factory.mktemp(name)
    report = fam.export_family(name, out, **kw)
    contract = read_contract(onnx.load(str(report.path)))
    assert contract == report.contract and validate_contract(contract) == []
    assert report.bytes < 10 * MB
    return report, contract


def _roles(contract):
    return {o['name']: o['role'] for o in contract['outputs']}


# ---------------------------------------------------------------- nn.MultiheadAttention


def test_per_head_mha_weights_leave_the_forward_result_as_it_was():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    q, k = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    with torch.no_grad():
        plain, _ = mha(query=q, key=k, value=k, need_weights=False)  # torchvision's call: keywords, no weights
        _, want = mha(q, k, k, need_weights=True, average_attn_weights=False)
        averaged_want = mha(q, k, k)[1]
        with per_head_mha_weights([mha]) as (probe,):
            seen = []
            probe.register_forward_hook(lambda m, i, o: seen.append(o))
            out, none = mha(query=q, key=k, value=k, need_weights=False)
            out2, averaged = mha(q, k, k)  # positional, the defaults: averaged weights back
    assert none is None and len(seen) == 2
    torch.testing.assert_close(out, plain, atol=1e-6, rtol=0)
    torch.testing.assert_close(out2, plain, atol=1e-6, rtol=0)
    torch.testing.assert_close(seen[0], want)  # [B, H, L, S] per head
    assert seen[0].shape == (2, 4, 5, 7)
    torch.testing.assert_close(averaged, averaged_want)
    assert 'forward' not in mha.__dict__  # restored


# ---------------------------------------------------------------- torchvision


@pytest.fixture(scope='module')
def tv_vit(tmp_path_factory):
    return _exported(tmp_path_factory, 'tv-vit')


def _tv_reference_attention(model, x):
    """Each encoder block's per-head weights, from the untouched MHA asked for them on the block's own input."""
    mats = []
    for blk in model.encoder.layers:
        blk.ln_1.register_forward_hook(
            lambda m, i, o, blk=blk: mats.append(
                blk.self_attention(o, o, o, need_weights=True, average_attn_weights=False)[1]
            )
        )
    with torch.no_grad():
        logits = model(x)
    return logits, torch.stack(mats, 1)


def test_torchvision_vit_classifier(tv_vit):
    report, contract = tv_vit
    assert _roles(contract) == {
        'logits': 'class_logits',
        'cls_attention': 'cls_attention',
        'self_attention': 'self_attention',
    }
    cls = next(o for o in contract['outputs'] if o['role'] == 'cls_attention')
    assert cls['shape'] == [1, 2, 2, 16] and cls['grid'] == [4, 4] and cls['patch'] == 16
    assert contract['model']['methods'] == ['vit-pseudo-mask']
    x = _x(64)
    got = _run(report.path, x)
    logits, ref = _tv_reference_attention(fam.tv_vit().eval(), x)
    np.testing.assert_allclose(got['logits'], logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got['self_attention'], ref.numpy(), atol=1e-6)
    np.testing.assert_allclose(got['cls_attention'], ref[:, :, :, 0, 1:].numpy(), atol=1e-6)
    assert report.seconds < 30


@pytest.mark.parametrize('name', ['tv-lraspp', 'tv-deeplabv3', 'tv-fcn'])
def test_torchvision_segmenters(tmp_path_factory, name):
    report, contract = _exported(tmp_path_factory, name, channel_gates=False)
    assert [o['role'] for o in contract['outputs']] == ['segmentation_logits'] and contract['version'] == '1.2'
    seg = contract['outputs'][0]
    size = fam.FAMILIES[name][1]['size']
    assert seg['role'] == 'segmentation_logits' and seg['shape'] == [1, 7, size, size]
    assert contract['classes'][0]['color'] == '#1f2430'  # id 0 drawn as background
    x = _x(size)
    with torch.no_grad():
        want = fam.FAMILIES[name][0]().eval()(x)['out']
    np.testing.assert_allclose(_run(report.path, x)['seg_logits'], want.numpy(), atol=1e-4)


def test_squeeze_and_excitation_gates_of_lraspp_as_channel_gates(tmp_path_factory):
    report, contract = _exported(tmp_path_factory, 'tv-lraspp')
    gates = [o for o in contract['outputs'] if o['role'] == 'channel_gate']
    model = fam.tv_lraspp().eval()
    se = [(n, m) for n, m in model.named_modules() if type(m).__name__ == 'SqueezeExcitation']
    assert contract['version'] == '1.4' and len(gates) == len(se) == 8
    assert [g['site'] for g in gates] == [n for n, _ in se]  # the module paths, in forward order
    x = _x(160)
    seen = {}
    for n, m in se:
        # (a hook that returns a value replaces the output: update() returns None)
        m.scale_activation.register_forward_hook(lambda _m, _i, o, n=n: seen.update({n: o.flatten(1)}))
    with torch.no_grad():
        logits = model(x)['out']
    got = _run(report.path, x)
    np.testing.assert_allclose(got['seg_logits'], logits.numpy(), atol=1e-4)
    for g in gates:
        assert g['shape'] == [1, seen[g['site']].shape[1]]
        np.testing.assert_allclose(got[g['name']], seen[g['site']].numpy(), atol=1e-5)
        assert ((got[g['name']] >= 0) & (got[g['name']] <= 1)).all()  # Hardsigmoid
    assert any('8 squeeze-and-excitation channel gates (SqueezeExcitation' in f for f in report.found)


def test_torchvision_cnn_classifier_reports_what_it_lacks(tmp_path_factory):
    report, contract = _exported(tmp_path_factory, 'tv-mobilenet', channel_gates=False)
    assert _roles(contract) == {'logits': 'class_logits'}
    assert any('no attention the kit recognises' in n for n in report.not_found)
    assert any('squeeze-and-excitation (channel-only) gates' in n for n in report.not_found)
    x = _x(64)
    with torch.no_grad():
        want = fam.tv_mobilenet_classifier().eval()(x)
    np.testing.assert_allclose(_run(report.path, x)['logits'], want.numpy(), atol=1e-4)


def test_a_stray_multihead_attention_is_named_not_guessed(tmp_path):
    class Pooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 8, 8)
            self.pool = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            t = self.stem(x).flatten(2).transpose(1, 2)
            return self.head(self.pool(t[:, :1], t, t)[0][:, 0])

    report = export(Pooled(), _x(32), tmp_path / 'p.onnx', task='classification', role='student', model_id='p')
    assert _roles(report.contract) == {'logits': 'class_logits'}
    assert any('1 nn.MultiheadAttention module(s) outside a recognised ViT (pool)' in n for n in report.not_found)


def test_a_task_the_model_does_not_have_is_refused_in_words(tmp_path):
    with pytest.raises(ExportError, match=r'task=detection: the kit reads DETR-style outputs .* a tensor \[1, 5\]'):
        export(fam.tv_vit(), _x(64), tmp_path / 'v.onnx', task='detection', role='student', model_id='v')
    assert not (tmp_path / 'v.onnx').exists()


# ---------------------------------------------------------------- timm


def test_timm_vit_with_registers_and_cbam_resnet(tmp_path_factory, tmp_path):
    pytest.importorskip('timm')
    report, contract = _exported(tmp_path_factory, 'timm-vit-reg')
    full = next(o for o in contract['outputs'] if o['role'] == 'self_attention')
    assert full['shape'] == [1, 2, 2, 17, 17]  # CLS + 16 patches: the 2 registers dropped
    assert any('2 register tokens dropped' in f for f in report.found)

    import timm

    torch.manual_seed(0)
    model = timm.create_model('resnet18', pretrained=False, num_classes=6, block_args=dict(attn_layer='cbam'))
    report = export(model, _x(64), tmp_path / 'cbam.onnx', task='classification', role='student', model_id='cbam')
    sites = {o['site'] for o in report.contract['outputs'] if 'site' in o}
    assert len(sites) == 8 and 'layer4.1.se' in sites
    assert report.contract['model']['methods'] == ['attnfd']
    assert any("timm's pretrained_cfg" in f for f in report.found)


def test_the_zoo_cbam_segmenter_by_module_type(tmp_path):
    from attnlens_ml.models.cbam_seg import CBAMSegmenter, SegConfig

    torch.manual_seed(0)
    model = CBAMSegmenter(SegConfig(widths=(8, 8, 16, 16), blocks=(1, 1, 1), context=16, low=8, decoder=16)).eval()
    report = export(model, _x(64), tmp_path / 'seg.onnx', task='segmentation', role='student', model_id='seg')
    roles = [o['role'] for o in report.contract['outputs']]
    assert roles.count('cbam_channel_gate') == roles.count('cbam_spatial_gate') == roles.count('cbam_refined') == 3
    x = _x(64, seed=3)
    got = _run(tmp_path / 'seg.onnx', x)
    with torch.no_grad():
        model(x)
    for site, cbam in [(n, m) for n, m in model.named_modules() if type(m).__name__ == 'CBAM']:
        np.testing.assert_allclose(got[f'cbam.{site}.spatial'], cbam.last['spatial'].numpy(), atol=1e-5)
        np.testing.assert_allclose(got[f'cbam.{site}.channel'], cbam.last['channel'].numpy(), atol=1e-5)


# ---------------------------------------------------------------- Hugging Face transformers


def _hf_attentions(model, x, **kw):
    with torch.no_grad():
        return model(x, output_attentions=True, **kw)


@pytest.mark.parametrize('name,prefix', [('hf-vit', 1), ('hf-dinov2-reg', 5)])
def test_hugging_face_vits(tmp_path_factory, name, prefix):
    pytest.importorskip('transformers')
    report, contract = _exported(tmp_path_factory, name)
    assert _roles(contract) == {
        'logits': 'class_logits',
        'cls_attention': 'cls_attention',
        'self_attention': 'self_attention',
    }
    model = fam.FAMILIES[name][0]().eval()
    assert model.config.output_attentions is False  # set for the export only
    x = _x(64)
    ref = _hf_attentions(model, x)
    got = _run(report.path, x)
    keep = [0] + list(range(prefix, prefix + 16))  # CLS, then the patches: the registers' rows and columns go
    mats = torch.stack(ref.attentions, 1)  # [1, L, H, T, T], T = prefix + 16
    assert mats.shape[-1] == prefix + 16
    np.testing.assert_allclose(got['self_attention'], mats[..., keep, :][..., keep].numpy(), atol=1e-6)
    np.testing.assert_allclose(got['cls_attention'], mats[:, :, :, 0, prefix:].numpy(), atol=1e-6)
    np.testing.assert_allclose(got['logits'], ref.logits.numpy(), atol=1e-5)
    if prefix > 1:
        assert any(
            '4 more prefix token(s) (registers / distillation: dropped from the matrices)' in f for f in report.found
        )
        assert any('froze the position-embedding interpolation' in f for f in report.found)
    else:
        assert [c['name'] for c in contract['classes']] == ['ok', 'scratch', 'dent']  # config.id2label


@pytest.mark.parametrize('name', ['hf-detr', 'hf-conditional-detr'])
def test_hugging_face_detrs_keep_their_own_label_ids(tmp_path_factory, name):
    pytest.importorskip('transformers')
    report, contract = _exported(tmp_path_factory, name)
    softmax = name == 'hf-detr'
    logits = contract['outputs'][0]
    assert [(c['id'], c['name']) for c in contract['classes']] == [(0, 'pallet'), (1, 'forklift'), (2, 'person')]
    assert logits['labels'] == [0, 1, 2] and logits['activation'] == ('softmax' if softmax else 'sigmoid')
    assert logits['shape'] == [1, 10, 4 if softmax else 3]  # DETR: a last no-object column
    assert next(o for o in contract['outputs'] if o['role'] == 'boxes')['box_format'] == 'cxcywh_normalized'
    cross = next(o for o in contract['outputs'] if o['role'] == 'cross_attention')
    assert cross['grid'] == [4, 4] and cross['stride'] == 32 and cross['block'] == 'one_to_one'
    model = fam.FAMILIES[name][0]().eval()
    x = _x(128)
    ref = _hf_attentions(model, x)
    got = _run(report.path, x)
    np.testing.assert_allclose(got['o2o.logits'], ref.logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got['o2o.boxes'], ref.pred_boxes.numpy(), atol=1e-5)
    np.testing.assert_allclose(got['o2o.cross_attention'], ref.cross_attentions[-1].mean(1).numpy(), atol=1e-6)
    np.testing.assert_allclose(got['encoder.attention'], ref.encoder_attentions[-1].numpy(), atol=1e-6)


def test_a_detr_class_mapping_overrides_names_by_the_models_ids(tmp_path):
    pytest.importorskip('transformers')
    report = export(
        fam.hf_detr(),
        _x(128),
        tmp_path / 'd.onnx',
        task='detection',
        role='teacher',
        model_id='d',
        classes={2: {'name': 'worker', 'color': '#00ff00'}},
        score_threshold=0.7,
    )
    c = report.contract
    assert [k['name'] for k in c['classes']] == ['pallet', 'forklift', 'worker'] and c['classes'][2][
        'color'
    ] == '#00ff00'
    assert c['outputs'][0]['score_threshold'] == 0.7 and c['version'] == '1.3'
    with pytest.raises(ExportError, match=r'classes= names ids \[5\], but the model has 3 classes'):
        export(fam.hf_detr(), _x(128), tmp_path / 'e.onnx', task='detection', role='teacher', model_id='e',
               classes={5: 'x'})  # fmt: skip


def test_a_detector_at_a_size_its_stride_does_not_tile_is_refused(tmp_path):
    pytest.importorskip('transformers')
    with pytest.raises(
        ExportError,
        match=r'the detector.s feature grid: a 4x4 map over the 120x120 input is not a whole power-of-two stride \(the backbone stride is probably 32\): export at a multiple of it, e.g. 128x128',
    ):
        export(fam.hf_detr(), _x(120), tmp_path / 'd.onnx', task='detection', role='teacher', model_id='d')


def test_segformer_logits_are_upsampled_to_input_size(tmp_path_factory):
    pytest.importorskip('transformers')
    report, contract = _exported(tmp_path_factory, 'hf-segformer')
    assert contract['outputs'][0]['shape'] == [1, 5, 64, 64]
    assert any('the logits are 16x16, the input 64x64: upsampled in the graph' in f for f in report.found)
    assert any("not a ViT's self-attention" in n for n in report.not_found)
    model = fam.hf_segformer().eval()
    x = _x(64)
    with torch.no_grad():
        low = model(x).logits
    want = F.interpolate(low, size=(64, 64), mode='bilinear', align_corners=False)
    np.testing.assert_allclose(_run(report.path, x)['seg_logits'], want.numpy(), atol=1e-5)
