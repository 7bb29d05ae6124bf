import json
from pathlib import Path

import pytest

from attnlens_ml.contract import (
    CONTRACT_VERSION,
    ContractError,
    contract_warnings,
    recommended_score_threshold,
    validate_contract,
)

EXAMPLES = Path(__file__).resolve().parents[2] / 'contract' / 'examples'
EXPECTED = json.loads((EXAMPLES / 'expected.json').read_text())
WARNINGS = json.loads((EXAMPLES / 'expected-warnings.json').read_text())


def test_corpus_lists_every_file():
    assert sorted(p.name for p in EXAMPLES.glob('*.json') if not p.name.startswith('expected')) == sorted(EXPECTED)
    assert set(WARNINGS) <= set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_shared_example(name):
    doc = json.loads((EXAMPLES / name).read_text())
    codes = [e.code for e in validate_contract(doc)]
    assert (['schema'] if 'schema' in codes else codes) == EXPECTED[name]
    if 'schema' not in codes and 'version' not in codes:  # warnings: schema-valid documents of a readable version
        assert [w.code for w in contract_warnings(doc)] == WARNINGS.get(name, [])


def test_methods_are_informational():
    doc = json.loads((EXAMPLES / 'warn-hdetr-without-one-to-many.json').read_text())
    assert validate_contract(doc) == []
    (w,) = contract_warnings(doc)
    assert w.message == (
        "model.methods lists 'h-detr' but the model exports no one_to_many query block, so its views "
        'will not show (methods is informational: the views follow the outputs)'
    )


def test_score_threshold():
    doc = json.loads((EXAMPLES / 'valid-detr-score-threshold.json').read_text())
    assert recommended_score_threshold(doc) == 0.35
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-score-threshold-range.json').read_text()))
    assert err.code == 'schema' and err.message.startswith('outputs/0/score_threshold')
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-score-threshold-one-to-many.json').read_text()))
    assert err.message == (
        "outputs[3] 'o2m.logits' gives a score_threshold, but only the one_to_one block's "
        'box_logits may: it is the block that makes the detections'
    )
    assert recommended_score_threshold(json.loads((EXAMPLES / 'valid-hdetr.json').read_text())) is None


def test_semantic_message_matches_typescript_half():
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-class-count.json').read_text()))
    assert err.message == "outputs[0] 'seg_logits' has 7 channels but the contract lists 6 classes"


def test_sidecar_wins_and_is_checked_against_the_graph(tmp_path):
    import shutil

    from attnlens_ml.contract import load_model_contract, write_sidecar

    src = Path(__file__).resolve().parents[2] / 'tests' / 'fixtures' / 'foreign-relu.onnx'
    model = tmp_path / 'foreign.onnx'
    shutil.copy(src, model)
    contract, errors = load_model_contract(model)
    assert contract is None and errors[0].code == 'no-contract' and 'export kit' in errors[0].message
    doc = json.loads((EXAMPLES / 'valid-segmenter.json').read_text())
    write_sidecar(model, doc)
    contract, errors = load_model_contract(model)
    assert contract == doc
    assert {e.code for e in errors} == {'output-missing'}  # the Relu graph has none of the declared outputs


def test_self_attention_message_matches_typescript_half():
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-self-attention-token-count.json').read_text()))
    assert err.message == "outputs[3] 'self_attn' has 400 tokens but grid 20x20 with cls_token='leads' means 401"


def test_older_minor_versions_stay_valid_next_to_1_2():
    doc = json.loads((EXAMPLES / 'valid-vit.json').read_text())
    assert doc['version'] == '1.0' and validate_contract(doc) == []
    doc['version'] = '2.0'
    assert [e.code for e in validate_contract(doc)] == ['version']


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def test_newer_minor_is_read_and_what_it_adds_is_one_warning():
    doc = _load('valid-newer-minor.json')
    assert CONTRACT_VERSION == '1.4'
    assert validate_contract(doc) == []
    assert contract_warnings(doc) == [
        ContractError(
            'newer-version',
            'the contract is version 1.7, newer than this AttnLens (1.4); not shown by this version of AttnLens: '
            "outputs[3] role 'foo_bar'; model.methods 'gaze-maps'; field provenance; field model.bar; "
            'field input.pad_to; field classes[2].parent; field outputs[1].temperature',
        )
    ]
    assert doc['outputs'][3]['role'] == 'foo_bar'  # the document is not changed


def test_unknown_field_at_the_known_minor_is_a_schema_error():
    (err,) = validate_contract(_load('invalid-unknown-field-known-minor.json'))
    assert err.code == 'schema' and err.message.startswith('model: ')


def test_newer_minor_errors_name_the_document_index():
    doc = _load('invalid-newer-minor-class-count.json')
    assert validate_contract(doc) == [
        ContractError('class-count', "outputs[1] 'seg_logits' has 8 channels but the contract lists 7 classes")
    ]
    doc['outputs'][2]['stride'] = 'eight'
    (err,) = validate_contract(doc)
    assert err.message.startswith('outputs/2/stride: ')


def test_newer_major_and_newer_minor_with_nothing_known_ask_to_update():
    assert validate_contract(_load('invalid-newer-minor-no-known-output.json')) == [
        ContractError(
            'version',
            "This model's contract is version 1.5 and none of its outputs has a role this AttnLens knows "
            '(it reads up to 1.4) — update AttnLens',
        )
    ]
    assert validate_contract(_load('invalid-future-major-version.json')) == [
        ContractError('version', "This model's contract is version 2.0; this AttnLens reads 1.x — update AttnLens")
    ]


def test_version_pattern_ends_at_the_string_end_as_in_typescript():
    doc = _load('valid-segmenter.json')
    doc['version'] = '1.3\n'  # Python's re '$' would accept this; JSON Schema (ECMA-262) does not
    assert [e.code for e in validate_contract(doc)] == ['schema']


def test_std_zero_is_refused():
    assert validate_contract(_load('invalid-std-zero.json')) == [
        ContractError(
            'std-zero',
            'input.std[1] is 0: pre-processing divides channel 1 by it, which gives infinities and NaN; '
            "give the channel's standard deviation (1 leaves it unscaled)",
        )
    ]


def test_softmax_logits_may_end_in_a_no_object_column():
    assert validate_contract(_load('valid-detr-softmax-no-object.json')) == []
    assert [e.message for e in validate_contract(_load('invalid-softmax-label-count.json'))] == [
        "outputs[0] 'logits' has 8 class logits but lists 6 labels "
        '(softmax: one column per label, or one more for a last no-object column)'
    ]
    assert [e.message for e in validate_contract(_load('invalid-sigmoid-extra-column.json'))] == [
        "outputs[0] 'logits' has 7 class logits but lists 6 labels"
    ]


def test_dtype_is_checked_against_the_graph():
    import copy

    import onnx

    from attnlens_ml.contract import check_against_graph, read_contract

    model = onnx.load(str(Path(__file__).resolve().parents[2] / 'tests' / 'fixtures' / 'tiny-detector-fp16.onnx'))
    contract = read_contract(model)
    assert contract['input']['dtype'] == 'float16'
    assert validate_contract(contract) == [] and check_against_graph(contract, model) == []
    lie = copy.deepcopy(contract)
    lie['input']['dtype'] = 'float32'
    assert check_against_graph(lie, model) == [
        ContractError(
            'input-dtype',
            "input 'image' is float16 in the graph but float32 in the contract; "
            'AttnLens feeds the dtype the contract says (float32 or float16)',
        )
    ]
    model.graph.output[1].type.tensor_type.elem_type = onnx.TensorProto.INT64
    assert [e.message for e in check_against_graph(contract, model)] == [
        "outputs[1] 'boxes' is int64 in the graph; AttnLens reads float32 or float16 outputs"
    ]
