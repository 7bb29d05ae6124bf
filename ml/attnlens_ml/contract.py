"""The AttnLens contract, Python half: validate a contract (JSON Schema + semantic rules) and check it against
an ONNX graph; read/write it in metadata_props. The TypeScript half (src/contract) implements the same rules
with the same error codes; both are tested against contract/examples (docs/contract.md is the spec).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema

# The schema ships inside the package (package data), so the kit works installed anywhere; it is a byte-for-byte
# copy of the repository's contract/attnlens-contract.schema.json (ml/tests/test_export_install.py checks it).
SCHEMA_RESOURCE = ('attnlens_ml', 'schema/attnlens-contract.schema.json')
METADATA_KEY = 'attnlens.contract'
FIX = 'Re-export with the AttnLens export kit (ml/attnlens_ml/export_kit.py), or correct the sidecar contract.'
# The contract version this half implements: every 1.x is read, and what 1.0-1.4 define is understood.
CONTRACT_VERSION = '1.4'
KNOWN_MINOR = 4
MAX_LISTED = 20  # at most this many unknown roles / fields are named in the newer-version warning
MAX_ERRORS = 100  # at most this many problems are reported for one document (a mangled one can have 100 000)


@dataclass(frozen=True)
class ContractError:
    code: str
    message: str

    def __str__(self) -> str:
        return f'[{self.code}] {self.message}'


_validator = None


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as JSON Schema means it (ECMA-262): `$` ends the string, not a line before a last newline."""
    anchored = pattern[:-1] + r'\Z' if pattern.endswith('$') and not pattern.endswith(r'\$') else pattern
    if validator.is_type(instance, 'string') and not re.search(anchored, instance):
        yield jsonschema.ValidationError(f'{instance!r} does not match {pattern!r}')


def _schema_validator():
    global _validator
    if _validator is None:
        cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {'pattern': _ecma_pattern})
        _validator = cls(_schema())
    return _validator


_schema_doc = None


def _schema() -> dict:
    global _schema_doc
    if _schema_doc is None:
        package, name = SCHEMA_RESOURCE
        _schema_doc = json.loads(resources.files(package).joinpath(name).read_text(encoding='utf-8'))
    return _schema_doc


def _known() -> dict[str, set[str]]:
    """Field names, output roles and methods the schema (this version) defines."""
    s = _schema()
    props = s['properties']
    return {
        'top': set(props),
        'model': set(props['model']['properties']),
        'input': set(props['input']['properties']),
        'classes': set(props['classes']['items']['properties']),
        'output': set(s['$defs']['output']['properties']),
        'roles': set(s['$defs']['output']['properties']['role']['enum']),
        'methods': set(props['model']['properties']['methods']['items']['enum']),
    }


def _label(i: int, out: dict) -> str:
    return f"outputs[{i}] '{out.get('name', '?')}'"


def _version_of(doc) -> tuple[str, int, int] | None:
    """(text, MAJOR, MINOR) of a document's `version`, or None when it is not a MAJOR.MINOR string."""
    v = doc.get('version') if isinstance(doc, dict) else None
    m = re.fullmatch(r'([0-9]+)\.([0-9]+)', v) if isinstance(v, str) else None
    return (v, int(m[1]), int(m[2])) if m else None


def _newer_minor_view(doc: dict) -> tuple[dict, list[int], list[str]]:
    """What this version reads of a newer 1.x minor's document (minors only add optional fields and output
    roles): the document without the fields and outputs it does not know (validated instead of it), where each
    kept output came from, and what was left out (for the `newer-version` warning)."""
    known = _known()
    roles: list[str] = []
    methods: list[str] = []
    fields: list[str] = []

    def pick(obj, names: set[str], path: str):
        if not isinstance(obj, dict):
            return obj
        fields.extend(f'field {path}{k}' for k in sorted(k for k in obj if k not in names))
        return {k: v for k, v in obj.items() if k in names}

    view = pick(doc, known['top'], '')
    if isinstance(doc.get('model'), dict):
        model = pick(doc['model'], known['model'], 'model.')
        if isinstance(model.get('methods'), list):
            unknown = [m for m in model['methods'] if isinstance(m, str) and m not in known['methods']]
            methods.extend(f"model.methods '{m}'" for m in unknown)
            model['methods'] = [m for m in model['methods'] if not isinstance(m, str) or m in known['methods']]
        view['model'] = model
    if 'input' in doc:
        view['input'] = pick(doc['input'], known['input'], 'input.')
    if isinstance(doc.get('classes'), list):
        view['classes'] = [pick(k, known['classes'], f'classes[{i}].') for i, k in enumerate(doc['classes'])]
    index: list[int] = []
    if isinstance(doc.get('outputs'), list):
        outputs = []
        for i, o in enumerate(doc['outputs']):
            if isinstance(o, dict) and isinstance(o.get('role'), str) and o['role'] not in known['roles']:
                roles.append(f"outputs[{i}] role '{o['role']}'")
                continue
            outputs.append(pick(o, known['output'], f'outputs[{i}].'))
            index.append(i)
        view['outputs'] = outputs
    return view, index, roles + methods + fields


def validate_contract(contract: dict) -> list[ContractError]:
    """All problems with a contract document; an empty list means valid."""
    v = _version_of(contract)
    if v and v[1] > 1:
        return [
            ContractError(
                'version', f"This model's contract is version {v[0]}; this AttnLens reads 1.x — update AttnLens"
            )
        ]
    if not v or v[2] <= KNOWN_MINOR:
        return _checked(contract, [])
    view, index, _ = _newer_minor_view(contract)
    if isinstance(contract.get('outputs'), list) and contract['outputs'] and not index:
        return [
            ContractError(
                'version',
                f"This model's contract is version {v[0]} and none of its outputs has a role this AttnLens knows "
                f'(it reads up to {CONTRACT_VERSION}) — update AttnLens',
            )
        ]
    return _checked(view, index)


def _checked(doc, index: list[int]) -> list[ContractError]:
    """Schema, then semantic rules; `index` maps the checked outputs back to the document's (empty: the same)."""

    def path(e) -> str:
        p = list(e.absolute_path)
        if len(p) > 1 and p[0] == 'outputs' and isinstance(p[1], int) and p[1] < len(index):
            p[1] = index[p[1]]
        return '/'.join(str(x) for x in p) or '(root)'

    errors = [
        ContractError('schema', f'{path(e)}: {e.message}')
        for e in sorted(
            itertools.islice(_schema_validator().iter_errors(doc), MAX_ERRORS), key=lambda e: list(e.absolute_path)
        )
    ]
    if errors:
        return errors
    return semantic_errors(doc, index)


def semantic_errors(c: dict, index: list[int] | None = None) -> list[ContractError]:
    errs: list[ContractError] = []
    add = lambda code, msg: len(errs) < MAX_ERRORS and errs.append(ContractError(code, msg))  # noqa: E731
    at = index or []

    def _label(i: int, out: dict) -> str:  # the document's output index (a newer minor's unknown roles skipped)
        return f"outputs[{at[i] if i < len(at) else i}] '{out.get('name', '?')}'"

    for i, v in enumerate(c['input']['std']):
        if v == 0:
            add(
                'std-zero',
                f'input.std[{i}] is 0: pre-processing divides channel {i} by it, which gives infinities and NaN; '
                f"give the channel's standard deviation (1 leaves it unscaled)",
            )
    _, _, in_h, in_w = _input_hw(c['input'])
    class_ids = [k['id'] for k in c['classes']]
    class_set = set(class_ids)
    if sorted(class_ids) != list(range(len(class_ids))):
        add('class-ids', f'class ids must be 0..{len(class_ids) - 1} without gaps or repeats, got {class_ids}')
    names = [o['name'] for o in c['outputs']]
    seen: set[str] = set()
    repeated = {n for n in names if n in seen or seen.add(n)}
    for n in sorted(repeated):
        add('duplicate-output', f"output name '{n}' is declared more than once")

    sites: dict[str, dict[str, tuple[int, dict]]] = {}
    gate_sites: set[str] = set()
    for i, o in enumerate(c['outputs']):
        role, shape = o['role'], o['shape']
        if role == 'segmentation_logits':
            if shape[1] != len(class_ids):
                add(
                    'class-count',
                    f'{_label(i, o)} has {shape[1]} channels but the contract lists {len(class_ids)} classes',
                )
            if shape[2:] != [in_h, in_w]:
                add(
                    'logits-size',
                    f'{_label(i, o)} is {shape[2]}x{shape[3]} but the input is {in_h}x{in_w}; export logits at input size',
                )
        elif role in ('class_logits', 'multilabel_logits'):
            if shape[1] != len(o['labels']):
                add('label-count', f'{_label(i, o)} has {shape[1]} logits but lists {len(o["labels"])} labels')
            missing = [k for k in o['labels'] if k not in class_set]
            if missing:
                add('unknown-class', f'{_label(i, o)} names class ids {missing} that are not in classes')
        elif role == 'channel_gate':  # 1.4: a channel-only gate (squeeze-and-excitation), one per site
            if o['site'] in gate_sites:
                add('duplicate-site-output', f"site '{o['site']}' declares two channel_gate outputs")
            gate_sites.add(o['site'])
        elif role.startswith('cbam_') or role == 'attnfd_projected':
            kind = role.removeprefix('cbam_').removesuffix('_gate')
            site = sites.setdefault(o['site'], {})
            if kind in site:
                add('duplicate-site-output', f"site '{o['site']}' declares two {role} outputs")
            site[kind] = (i, o)
            if len(shape) == 4 and o['stride'] * shape[2] != in_h or len(shape) == 4 and o['stride'] * shape[3] != in_w:
                add(
                    'stride',
                    f'{_label(i, o)} is {shape[2]}x{shape[3]} at stride {o["stride"]}, which does not cover the {in_h}x{in_w} input',
                )
        elif role in ('cls_attention', 'cls_key_cosine'):
            gh, gw = o['grid']
            expect = gh * gw + (1 if o['keys'] == 'all_tokens' else 0)
            if shape[-1] != expect:
                add(
                    'token-count',
                    f"{_label(i, o)} has {shape[-1]} keys but grid {gh}x{gw} with keys='{o['keys']}' means {expect}",
                )
            if gh * o['patch'] != in_h or gw * o['patch'] != in_w:
                add(
                    'grid',
                    f'{_label(i, o)}: grid {gh}x{gw} of {o["patch"]}-px patches does not tile the {in_h}x{in_w} input',
                )
            if role == 'cls_attention' and len(o['layers']) != shape[1]:
                add('layer-count', f'{_label(i, o)} lists {len(o["layers"])} layers but its shape has {shape[1]}')
        elif role == 'self_attention':
            gh, gw = o['grid']
            expect = gh * gw + (1 if o['cls_token'] == 'leads' else 0)
            if shape[3] != shape[4]:
                add('token-count', f'{_label(i, o)} must be square over tokens, is {shape[3]}x{shape[4]}')
            if shape[4] != expect:
                add(
                    'token-count',
                    f'{_label(i, o)} has {shape[4]} tokens but grid {gh}x{gw} with '
                    f"cls_token='{o['cls_token']}' means {expect}",
                )
            if gh * o['patch'] != in_h or gw * o['patch'] != in_w:
                add(
                    'grid',
                    f'{_label(i, o)}: grid {gh}x{gw} of {o["patch"]}-px patches does not tile the {in_h}x{in_w} input',
                )
            if len(o['layers']) != shape[1]:
                add('layer-count', f'{_label(i, o)} lists {len(o["layers"])} layers but its shape has {shape[1]}')
    for i, o in enumerate(c['outputs']):
        if o['role'] != 'self_attention':
            continue
        for j, p in enumerate(c['outputs']):
            if p['role'] not in ('cls_attention', 'cls_key_cosine'):
                continue
            heads = p['shape'][2] if p['role'] == 'cls_attention' else p['shape'][1]
            if heads != o['shape'][2] or p['grid'] != o['grid'] or p['patch'] != o['patch']:
                add(
                    'attention-mismatch',
                    f'{_label(i, o)} ({o["shape"][2]} heads, grid {o["grid"][0]}x{o["grid"][1]} of '
                    f'{o["patch"]} px) does not describe the same ViT as {_label(j, p)} ({heads} heads, '
                    f'grid {p["grid"][0]}x{p["grid"][1]} of {p["patch"]} px)',
                )

    blocks: dict[str, dict[str, tuple[int, dict]]] = {}
    for i, o in enumerate(c['outputs']):
        role, shape = o['role'], o['shape']
        if role in ('box_logits', 'boxes', 'cross_attention'):
            blocks.setdefault(o['block'], {})[role] = (i, o)
        if role == 'box_logits':
            n = len(o['labels'])
            # softmax (DETR's cross-entropy head) may end in one more column: the no-object class
            if o['activation'] == 'softmax' and shape[2] not in (n, n + 1):
                add(
                    'label-count',
                    f'{_label(i, o)} has {shape[2]} class logits but lists {n} labels '
                    f'(softmax: one column per label, or one more for a last no-object column)',
                )
            elif o['activation'] != 'softmax' and shape[2] != n:
                add('label-count', f'{_label(i, o)} has {shape[2]} class logits but lists {n} labels')
            missing = [k for k in o['labels'] if k not in class_set]
            if missing:
                add('unknown-class', f'{_label(i, o)} names class ids {missing} that are not in classes')
        elif role == 'boxes' and shape[2] != 4:
            add('box-shape', f'{_label(i, o)} must end in 4 box coordinates, has {shape[2]}')
        elif role in ('cross_attention', 'encoder_attention', 'token_features'):
            gh, gw = o['grid']
            n = shape[1] if role == 'token_features' else shape[-1]
            if n != gh * gw:
                add('token-count', f'{_label(i, o)} has {n} keys but grid {gh}x{gw} means {gh * gw}')
            if role == 'encoder_attention' and shape[2] != shape[3]:
                add('token-count', f'{_label(i, o)} must be square over tokens, is {shape[2]}x{shape[3]}')
            cell = o['patch'] if role == 'token_features' else o['stride']
            if gh * cell != in_h or gw * cell != in_w:
                add('grid', f'{_label(i, o)}: grid {gh}x{gw} at {cell} px does not tile the {in_h}x{in_w} input')
        elif role == 'router_weights' and shape[1] != len(o['paths']):
            add('path-count', f'{_label(i, o)} has {shape[1]} weights but names {len(o["paths"])} paths')
        elif role == 'adapter_features' and (o['stride'] * shape[2] != in_h or o['stride'] * shape[3] != in_w):
            add(
                'stride',
                f'{_label(i, o)} is {shape[2]}x{shape[3]} at stride {o["stride"]}, which does not cover the {in_h}x{in_w} input',
            )
        if 'score_threshold' in o and (role != 'box_logits' or o['block'] != 'one_to_one'):
            add(
                'score-threshold',
                f"{_label(i, o)} gives a score_threshold, but only the one_to_one block's "
                f'box_logits may: it is the block that makes the detections',
            )
    for name, parts in blocks.items():
        if 'box_logits' not in parts or 'boxes' not in parts:
            add('block-incomplete', f"query block '{name}' needs both box_logits and boxes outputs")
            continue
        q = parts['box_logits'][1]['shape'][1]
        for i, o in parts.values():
            if o['shape'][1] != q:
                add('block-shape', f"{_label(i, o)} has {o['shape'][1]} queries but block '{name}' has {q}")

    for name, parts in sites.items():
        if 'channel' not in parts or 'spatial' not in parts:
            add('site-incomplete', f"CBAM site '{name}' needs both a cbam_channel_gate and a cbam_spatial_gate output")
            continue
        _, ch = parts['channel']
        _, sp = parts['spatial']
        if sp['shape'][1] != 1:
            add('spatial-shape', f"spatial gate of site '{name}' must have 1 channel, has {sp['shape'][1]}")
        if 'refined' in parts:
            _, rf = parts['refined']
            if rf['shape'][1] != ch['shape'][1] or rf['shape'][2:] != sp['shape'][2:]:
                add(
                    'site-shape',
                    f"refined map of site '{name}' is {rf['shape']}, expected [1, {ch['shape'][1]}, "
                    f'{sp["shape"][2]}, {sp["shape"][3]}] from its gates',
                )
    return errs


# What each method's views need, as predicates over the outputs. `model.methods` is informational (the app
# derives the applicable views from the outputs alone); a listed method whose outputs are missing is a
# warning, code `method-needs` — the same list, messages and order as contractWarnings in src/contract.
METHOD_NEEDS = [
    (
        'attnfd',
        'CBAM site',
        lambda roles, blocks: bool(
            roles & {'cbam_channel_gate', 'cbam_spatial_gate', 'cbam_refined', 'attnfd_projected'}
        ),
    ),
    ('vit-pseudo-mask', 'cls_attention output', lambda roles, blocks: 'cls_attention' in roles),
    ('h-detr', 'one_to_many query block', lambda roles, blocks: 'one_to_many' in blocks),
    (
        'ks-detr',
        'encoder_attention or cross_attention output',
        lambda roles, blocks: bool(roles & {'encoder_attention', 'cross_attention'}),
    ),
    (
        'sak',
        'router_weights or adapter_features output',
        lambda roles, blocks: bool(roles & {'router_weights', 'adapter_features'}),
    ),
]


def contract_warnings(c: dict) -> list[ContractError]:
    """Problems that do not make a (valid) contract unusable: what a newer 1.x minor adds that this version does
    not show (`newer-version`: output roles, methods and fields it does not know), and a `model.methods` entry
    whose outputs are missing (`method-needs`: the views follow the outputs, so its views are simply absent)."""
    v = _version_of(c)
    unshown = _newer_minor_view(c)[2] if v and v[1] == 1 and v[2] > KNOWN_MINOR else []
    if not unshown:
        return _method_needs(c)
    newer = ContractError(
        'newer-version',
        f'the contract is version {v[0]}, newer than this AttnLens ({CONTRACT_VERSION}); '
        f'not shown by this version of AttnLens: '
        + '; '.join(
            unshown[:MAX_LISTED] + ([f'and {len(unshown) - MAX_LISTED} more'] if len(unshown) > MAX_LISTED else [])
        ),
    )
    return [newer, *_method_needs(c)]


def _method_needs(c: dict) -> list[ContractError]:
    roles = {o['role'] for o in c['outputs']}
    blocks = {o['block'] for o in c['outputs'] if o['role'] in ('box_logits', 'boxes', 'cross_attention')}
    return [
        ContractError(
            'method-needs',
            f"model.methods lists '{m}' but the model exports no {what}, so "
            f'its views will not show (methods is informational: the views follow the outputs)',
        )
        for m, what, ok in METHOD_NEEDS
        if m in c['model'].get('methods', []) and not ok(roles, blocks)
    ]


def recommended_score_threshold(c: dict) -> float | None:
    """The one_to_one block's recommended score threshold (contract 1.3), or None."""
    for o in c['outputs']:
        if o['role'] == 'box_logits' and o.get('block') == 'one_to_one' and 'score_threshold' in o:
            return float(o['score_threshold'])
    return None


def _input_hw(inp: dict) -> tuple[int, int, int, int]:
    s = inp['shape']
    return (s[0], s[1], s[2], s[3]) if inp['layout'] == 'NCHW' else (s[0], s[3], s[1], s[2])


# onnx TensorProto element types by the names onnxruntime(-web) gives them
DTYPES = {
    1: 'float32',
    2: 'uint8',
    3: 'int8',
    4: 'uint16',
    5: 'int16',
    6: 'int32',
    7: 'int64',
    8: 'string',
    9: 'bool',
    10: 'float16',
    11: 'float64',
    12: 'uint32',
    13: 'uint64',
    16: 'bfloat16',
}
OUTPUT_DTYPES = ('float32', 'float16')  # float16 outputs are widened to float32 by the app's worker


def check_against_graph(contract: dict, model) -> list[ContractError]:
    """Declared input/outputs against an onnx.ModelProto: names present, static shapes equal, the input's dtype,
    outputs the app can read (float32 or float16). Outputs of roles this version does not know are not checked."""
    errs: list[ContractError] = []

    def dims(value_info) -> list[int | str]:
        return [
            d.dim_value if d.HasField('dim_value') else (d.dim_param or '?')
            for d in value_info.type.tensor_type.shape.dim
        ]

    def accepts(graph: list[int | str], declared: list[int]) -> bool:
        """The same rank, each axis equal or left open in the graph (named or unknown, e.g. a dynamic batch axis):
        AttnLens feeds and reads the contract's shape."""
        return len(graph) == len(declared) and all(
            g == d or isinstance(g, str) or g <= 0 for g, d in zip(graph, declared)
        )

    def dtype(value_info) -> str | None:
        t = value_info.type.tensor_type.elem_type
        return DTYPES.get(t, f'type {t}') if t else None

    graph_inputs = {v.name: v for v in model.graph.input}
    init = {t.name for t in model.graph.initializer}
    real_inputs = [n for n in graph_inputs if n not in init]
    inp = contract['input']
    if inp['name'] not in graph_inputs:
        errs.append(
            ContractError('input-missing', f"input '{inp['name']}' is not an input of the graph (it has {real_inputs})")
        )
    else:
        if not accepts(dims(graph_inputs[inp['name']]), inp['shape']):
            errs.append(
                ContractError(
                    'input-shape',
                    f"input '{inp['name']}' is {dims(graph_inputs[inp['name']])} in the graph "
                    f'but {inp["shape"]} in the contract; export with a fixed input size',
                )
            )
        t = dtype(graph_inputs[inp['name']])
        if t and t != inp['dtype']:
            errs.append(
                ContractError(
                    'input-dtype',
                    f"input '{inp['name']}' is {t} in the graph but {inp['dtype']} in the contract; "
                    f'AttnLens feeds the dtype the contract says (float32 or float16)',
                )
            )
    graph_outputs = {v.name: v for v in model.graph.output}
    roles = _known()['roles']
    for i, o in enumerate(contract['outputs']):
        if o['role'] not in roles:
            continue
        if o['name'] not in graph_outputs:
            errs.append(
                ContractError(
                    'output-missing',
                    f'{_label(i, o)} is not an output of the graph (graph outputs: {sorted(graph_outputs)})',
                )
            )
            continue
        if not accepts(dims(graph_outputs[o['name']]), o['shape']):
            errs.append(
                ContractError(
                    'output-shape',
                    f'{_label(i, o)} is {dims(graph_outputs[o["name"]])} in the graph but {o["shape"]} in the contract',
                )
            )
        t = dtype(graph_outputs[o['name']])
        if t and t not in OUTPUT_DTYPES:
            errs.append(
                ContractError(
                    'output-dtype', f'{_label(i, o)} is {t} in the graph; AttnLens reads float32 or float16 outputs'
                )
            )
    return errs


def read_contract(model) -> dict | None:
    for p in model.metadata_props:
        if p.key == METADATA_KEY:
            return json.loads(p.value)
    return None


def write_contract(model, contract: dict) -> None:
    for p in list(model.metadata_props):
        if p.key == METADATA_KEY:
            model.metadata_props.remove(p)
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(contract, separators=(',', ':'))


def load_model_contract(
    model_path: str | Path, sidecar: str | Path | None = None
) -> tuple[dict | None, list[ContractError]]:
    """The contract of an ONNX file (a sidecar wins over the embedded one) and every problem with it."""
    import onnx

    proto = onnx.load(str(model_path), load_external_data=False)
    sidecar = Path(sidecar) if sidecar else Path(str(model_path).removesuffix('.onnx') + '.contract.json')
    contract = json.loads(sidecar.read_text()) if sidecar.exists() else read_contract(proto)
    if contract is None:
        return None, [
            ContractError(
                'no-contract', f"{model_path} has no '{METADATA_KEY}' metadata and no sidecar {sidecar.name}. {FIX}"
            )
        ]
    errors = validate_contract(contract)
    return contract, errors or check_against_graph(contract, proto)


def write_sidecar(model_path: str | Path, contract: dict) -> Path:
    """<model>.contract.json next to a model that cannot be re-exported."""
    path = Path(str(model_path).removesuffix('.onnx') + '.contract.json')
    path.write_text(json.dumps(contract, indent=1))
    return path


if __name__ == '__main__':  # python -m attnlens_ml.contract model.onnx [sidecar.json]
    import sys

    contract, errs = load_model_contract(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    for e in errs:
        print(e)
    for w in contract_warnings(contract) if contract and not validate_contract(contract) else []:
        print(f'warning {w}')
    print('contract OK' if not errs else f'{len(errs)} problem(s)')
    sys.exit(1 if errs else 0)
