/**
 * The draft contract of each zoo model stripped of its contract: every output whose role the graph decides
 * gets its original role (and the fields the graph decides, their original values); every other one is asked,
 * with its original role among the choices — what is asked is written down per model below. Answering the
 * questions as the original contract does rebuilds that contract. Then synthetic graphs for what the zoo
 * does not have: NHWC, two outputs of one shape, outputs of no usable shape, open sizes, blockers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { type Contract, type ContractOutput, loadContract } from '../index';
import {
  buildContract,
  checkDraft,
  type DraftAnswers,
  type DraftContract,
  defaultAnswers,
  draftOfPlainOnnx,
  type GraphTensor,
  inferDraft,
  type OnnxGraph,
  readOnnxGraph,
} from './index';

const root = join(__dirname, '../../..');
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as {
  models: { id: string; file: string }[];
};

/** The model bytes without ModelProto.metadata_props (field 14): the contract gone, the graph untouched. */
function stripContract(bytes: Uint8Array): Uint8Array {
  const r = new BinaryReader(bytes);
  const kept: Uint8Array[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const [field, wire] = r.tag();
    r.skip(wire);
    if (field !== 14) kept.push(bytes.subarray(start, r.pos));
  }
  const out = new Uint8Array(kept.reduce((n, k) => n + k.length, 0));
  let at = 0;
  for (const k of kept) {
    out.set(k, at);
    at += k.length;
  }
  return out;
}

/**
 * What the draft asks of each zoo model (outputs whose role is a question; the query blocks whose kind is),
 * beside the inputs' colour, normalisation and resize, the model's role and the class names, asked of every model.
 */
const ASKED: Record<string, { outputs: string[]; blocks: number[] }> = {
  'seg-teacher': { outputs: [], blocks: [] },
  'seg-student-plain': { outputs: [], blocks: [] },
  'seg-student-plain-few-masks': { outputs: [], blocks: [] },
  'seg-student-wide-plain': { outputs: [], blocks: [] },
  // the AttnFD connectors: a convolution of a site's refined map, but which teacher's width only the user knows
  'seg-student-attnfd': {
    outputs: ['attnfd.backbone.projected', 'attnfd.context.projected', 'attnfd.decoder.projected'],
    blocks: [],
  },
  'seg-student-attnfd-b0.1': {
    outputs: ['attnfd.backbone.projected', 'attnfd.context.projected', 'attnfd.decoder.projected'],
    blocks: [],
  },
  'seg-student-attnfd-few-masks': {
    outputs: ['attnfd.backbone.projected', 'attnfd.context.projected', 'attnfd.decoder.projected'],
    blocks: [],
  },
  'seg-student-wide-attnfd': {
    outputs: ['attnfd.backbone.projected', 'attnfd.context.projected', 'attnfd.decoder.projected'],
    blocks: [],
  },
  // softmax or sigmoid over the labels; router weights or probabilities; adapter paths name their teacher
  'sak-student': {
    outputs: ['label_logits', 'router_weights', 'sak.seg-teacher.projected', 'sak.vit-attn.projected'],
    blocks: [],
  },
  // softmax or sigmoid over the labels; a [1, H, N] of the ViT's shape: CST's cosine, but its values are not read
  'vit-attn': { outputs: ['label_logits', 'cls_key_cosine'], blocks: [] },
  // one query block: decided; two: which is one-to-one (and k) is asked
  'detr-teacher': { outputs: [], blocks: [40, 120] },
  'detr-student-hybrid': { outputs: [], blocks: [40, 120] },
  'detr-student-o2o': { outputs: [], blocks: [] },
  'detr-student-ks': { outputs: [], blocks: [] },
};

/** The answers the original contract gives to the draft's questions. */
function answersFrom(d: DraftContract, c: Contract): DraftAnswers {
  const a = defaultAnswers(d);
  a.model = { id: c.model.id, name: c.model.name, role: c.model.role };
  a.input = {
    ...a.input,
    color: c.input.color,
    resize: c.input.resize,
    scale: String(c.input.scale),
    mean: c.input.mean.join(', '),
    std: c.input.std.join(', '),
  };
  a.classNames = c.classes.map((k) => k.name);
  for (const o of c.outputs) {
    const draft = d.outputs.find((x) => x.name === o.name)!;
    const choice = draft.choices.find((x) => x.role === o.role)!;
    const values: Record<string, string> = {};
    for (const q of choice.questions) {
      const v = o[q.field as keyof ContractOutput];
      values[q.field] = Array.isArray(v) ? v.join(', ') : String(v ?? '');
    }
    a.outputs[o.name] = { role: o.role, values };
    if (o.block) a.blocks[String(o.shape[1])] = { block: o.block, k: String(o.k ?? 1) };
  }
  for (const o of d.outputs) if (!c.outputs.some((x) => x.name === o.name)) a.outputs[o.name].role = 'ignore';
  return a;
}

const comparable = (o: ContractOutput) => {
  const { description: _d, score_threshold: _s, ...rest } = o;
  return rest;
};

describe.each(index.models)('$id stripped of its contract', ({ id, file }) => {
  const bytes = stripContract(new Uint8Array(readFileSync(join(root, 'public', file))));
  const original = loadContract(new Uint8Array(readFileSync(join(root, 'public', file))));
  if (!original.ok) throw new Error(original.problem);
  const contract = original.contract;
  const draft = draftOfPlainOnnx(bytes, file)!;

  it('has no contract any more, and opens as a draft', () => {
    const r = loadContract(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].code).toBe('no-contract');
    expect(draft).not.toBeNull();
    expect(draft.blockers).toEqual([]);
    expect(draft.input.layout).toMatchObject({ value: 'NCHW', certainty: 'inferred' });
    expect(draft.input.size).toMatchObject({ value: [160, 160], certainty: 'inferred' });
    expect(draft.input.name.value).toBe('image');
    for (const q of [draft.input.color, draft.input.normalisation, draft.input.resize, draft.model.role])
      expect(q.certainty).toBe('ask');
  });

  it('proposes the original role of every output it decides, and asks the rest with the original among the choices', () => {
    const asked: string[] = [];
    for (const o of draft.outputs) {
      const want = contract.outputs.find((x) => x.name === o.name)!;
      expect(
        o.choices.map((x) => x.role),
        o.name,
      ).toContain(want.role);
      expect(o.choices.at(-1)!.role).toBe('ignore');
      if (o.role.certainty === 'inferred') {
        expect(o.role.value, o.name).toBe(want.role);
        // what the graph decides (grid, patch, stride, site, keys…) is what the exporter wrote
        const fixed = o.choices.find((x) => x.role === want.role)!.fixed;
        expect(want, o.name).toMatchObject(fixed);
      } else asked.push(o.name);
      expect(o.role.reason.length, o.name).toBeGreaterThan(20);
    }
    expect(asked).toEqual(ASKED[id].outputs);
    expect(draft.blocks.filter((b) => b.block.certainty === 'ask').map((b) => b.queries)).toEqual(ASKED[id].blocks);
  });

  it('counts the classes from the shapes', () => {
    const seg = contract.outputs.find((o) => o.role === 'segmentation_logits');
    expect(draft.classes.value).toBe(seg ? contract.classes.length : contract.classes.length - 1);
  });

  it("answered as the original contract answers, rebuilds the original's outputs and input, and opens as a sidecar", () => {
    const { contract: rebuilt, errors } = checkDraft(draft, answersFrom(draft, contract));
    expect(errors).toEqual([]);
    expect(rebuilt!.outputs.map(comparable)).toEqual(contract.outputs.map(comparable));
    expect(rebuilt!.input).toEqual(contract.input);
    expect(rebuilt!.classes.map((k) => k.name)).toEqual(contract.classes.map((k) => k.name));
    expect(rebuilt!.model.task).toBe(contract.model.task);
    const opened = loadContract(bytes, JSON.stringify(rebuilt));
    expect(opened.ok && opened.warnings).toEqual([]);
  });

  it('opens with its defaults alone (every question at its default)', () => {
    expect(checkDraft(draft, defaultAnswers(draft)).errors).toEqual([]);
  });
});

const tensor = (name: string, dims: GraphTensor['dims'], dtype = 'float32'): GraphTensor => ({ name, dtype, dims });
const graphOf = (input: GraphTensor, outputs: GraphTensor[], nodes: OnnxGraph['nodes'] = []): OnnxGraph => ({
  inputs: [input],
  outputs,
  nodes,
});
const roleOf = (d: DraftContract, name: string) => d.outputs.find((o) => o.name === name)!.role;

describe('synthetic graphs', () => {
  it('an NHWC input: layout from the channel axis, the contract fed channels last', () => {
    const d = inferDraft(
      graphOf(tensor('pixels', [1, 224, 224, 3]), [tensor('logits', [1, 10]), tensor('mask', [1, 224, 224, 5])]),
      'tf-model.onnx',
    );
    expect(d.input.layout).toMatchObject({ value: 'NHWC', certainty: 'inferred' });
    expect(d.input.size.value).toEqual([224, 224]);
    expect(roleOf(d, 'logits')).toMatchObject({ value: 'class_logits', certainty: 'ask' });
    // channels-last logits cannot be declared: left out, with why
    expect(roleOf(d, 'mask')).toMatchObject({ value: 'ignore', certainty: 'inferred' });
    expect(roleOf(d, 'mask').reason).toMatch(/channels last.*NCHW/);
    const a = defaultAnswers(d);
    a.classNames = Array.from({ length: 10 }, (_, i) => `digit ${i}`);
    const { contract, errors } = checkDraft(d, a);
    expect(errors).toEqual([]);
    expect(contract!.input).toMatchObject({ name: 'pixels', shape: [1, 224, 224, 3], layout: 'NHWC' });
    expect(contract!.model).toMatchObject({ id: 'tf-model', task: 'classification' });
    expect(contract!.outputs).toEqual([
      { name: 'logits', role: 'class_logits', shape: [1, 10], labels: [...Array(10).keys()] },
    ]);
  });

  it('a channel axis that cannot be told (3×3 images) is asked; a 1-channel input blocks, named', () => {
    expect(inferDraft(graphOf(tensor('x', [1, 3, 3, 3]), []), 'a.onnx').input.layout.certainty).toBe('ask');
    const gray = inferDraft(graphOf(tensor('x', [1, 1, 28, 28]), [tensor('y', [1, 10])]), 'mnist.onnx');
    expect(gray.input.layout.value).toBe('NCHW');
    expect(gray.blockers).toEqual([expect.stringMatching(/1 channel: AttnLens feeds RGB images/)]);
    expect(buildContract(gray, defaultAnswers(gray)).contract).toBeNull();
  });

  it('an integer input, or a second input, blocks the model, named', () => {
    const bytesIn = inferDraft(graphOf(tensor('x', [1, 3, 64, 64], 'uint8'), [tensor('y', [1, 4])]), 'q.onnx');
    expect(bytesIn.blockers).toEqual([expect.stringMatching(/input 'x' is uint8: AttnLens feeds float32 or float16/)]);
    const two = inferDraft(
      { inputs: [tensor('x', [1, 3, 64, 64]), tensor('scale', [1])], outputs: [tensor('y', [1, 4])], nodes: [] },
      'two.onnx',
    );
    expect(two.blockers).toEqual([expect.stringMatching(/2 inputs \(x, scale\): AttnLens feeds one image/)]);
  });

  it('two outputs of the same shape: which is which is asked, one proposed (to confirm), never both silently', () => {
    const d = inferDraft(
      graphOf(tensor('x', [1, 3, 64, 64]), [tensor('main', [1, 5, 64, 64]), tensor('aux', [1, 5, 64, 64])]),
      'twins.onnx',
    );
    expect(roleOf(d, 'main')).toMatchObject({ value: 'segmentation_logits', certainty: 'ask' });
    expect(roleOf(d, 'aux')).toMatchObject({ value: 'ignore', certainty: 'ask' });
    expect(roleOf(d, 'aux').reason).toMatch(/2 outputs \(main, aux\) fit segmentation logits.*which/);
    expect(d.outputs.find((o) => o.name === 'aux')!.choices.map((c) => c.role)).toEqual([
      'segmentation_logits',
      'ignore',
    ]);
  });

  it('boxes and 4-class logits of one shape: asked, the sigmoid-ended one proposed as the boxes', () => {
    const d = inferDraft(
      graphOf(
        tensor('x', [1, 3, 64, 64]),
        [tensor('a', [1, 50, 4]), tensor('b', [1, 50, 4])],
        [
          { opType: 'MatMul', inputs: ['h', 'w'], outputs: ['a'] },
          { opType: 'Sigmoid', inputs: ['g'], outputs: ['b'] },
        ],
      ),
      'det4.onnx',
    );
    expect(roleOf(d, 'b')).toMatchObject({ value: 'boxes', certainty: 'ask' });
    expect(roleOf(d, 'a')).toMatchObject({ value: 'box_logits', certainty: 'ask' });
    expect(roleOf(d, 'a').reason).toMatch(/cannot be told apart by shape/);
    expect(d.blocks).toMatchObject([{ queries: 50, block: { value: 'one_to_one', certainty: 'inferred' } }]);
  });

  it('outputs of no usable shape are ignored, each with why; the model still opens', () => {
    const d = inferDraft(
      graphOf(tensor('x', [1, 3, 64, 64]), [
        tensor('logits', [1, 3, 64, 64]),
        tensor('unknown', null),
        tensor('open', ['batch', 'c', 'h', 'w']),
        tensor('ids', [1, 64, 64], 'int64'),
        tensor('vector', [8]),
        tensor('odd', [1, 7, 9]),
      ]),
      'mixed.onnx',
    );
    expect(roleOf(d, 'logits')).toMatchObject({ value: 'segmentation_logits', certainty: 'inferred' });
    for (const [name, why] of [
      ['unknown', /the graph gives it no shape/],
      ['open', /\[batch, c, h, w\] is not fixed/],
      ['ids', /int64: AttnLens reads float32 or float16/],
      ['vector', /batch axis of 1/],
      ['odd', /fits no output role/],
    ] as const) {
      expect(roleOf(d, name), name).toMatchObject({ value: 'ignore', certainty: 'inferred' });
      expect(roleOf(d, name).reason, name).toMatch(why);
    }
    const { contract, errors } = checkDraft(d, defaultAnswers(d));
    expect(errors).toEqual([]);
    expect(contract!.outputs.map((o) => o.name)).toEqual(['logits']);
  });

  it('an open batch axis is read as 1; open input sides are asked, and the contract waits for them', () => {
    const d = inferDraft(graphOf(tensor('x', ['N', 3, 'H', 'W']), [tensor('y', ['N', 1000])]), 'dynamic.onnx');
    expect(d.input.size).toMatchObject({ value: null, certainty: 'ask' });
    expect(d.outputs[0].shape).toEqual([1, 1000]);
    const a = defaultAnswers(d);
    a.classNames = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    expect(buildContract(d, a).problems).toEqual(['input size: give the height and width in pixels (whole numbers)']);
    a.input.height = '224';
    a.input.width = '224';
    // the graph leaves the axes open: the declared size is accepted
    expect(checkDraft(d, a).errors).toEqual([]);
  });

  it('a [1, C, 1, 1] channel gate and unpaired spatial gates are left out, saying why; a lone [1, C] sigmoid may be a channel_gate', () => {
    const d = inferDraft(
      graphOf(
        tensor('x', [1, 3, 64, 64]),
        [tensor('se', [1, 16, 1, 1]), tensor('spatial', [1, 1, 8, 8])],
        [
          { opType: 'Sigmoid', inputs: ['a'], outputs: ['se'] },
          { opType: 'Sigmoid', inputs: ['b'], outputs: ['spatial'] },
        ],
      ),
      'se.onnx',
    );
    expect(roleOf(d, 'se').reason).toMatch(/declares a channel gate as \[1, C\] \(export it flattened/);
    expect(roleOf(d, 'spatial').reason).toMatch(/a spatial gate alone cannot be declared/);
    const lone = inferDraft(
      graphOf(
        tensor('x', [1, 3, 64, 64]),
        [tensor('se', [1, 16])],
        [{ opType: 'Sigmoid', inputs: ['a'], outputs: ['se'] }],
      ),
      'se.onnx',
    );
    const choice = lone.outputs.find((o) => o.name === 'se')!.choices[0];
    expect(choice).toMatchObject({ role: 'channel_gate', fixed: { site: 'se' } });
  });

  it('a CBAM site is found by following the graph, not the names', () => {
    const nodes: OnnxGraph['nodes'] = [
      { opType: 'Sigmoid', inputs: ['m'], outputs: ['g1'] },
      { opType: 'Unsqueeze', inputs: ['g1', 'axes'], outputs: ['g1u'] },
      { opType: 'Mul', inputs: ['feat', 'g1u'], outputs: ['f1'] },
      { opType: 'Sigmoid', inputs: ['c'], outputs: ['g2'] },
      { opType: 'Mul', inputs: ['f1', 'g2'], outputs: ['out3'] },
      { opType: 'Conv', inputs: ['out3', 'w'], outputs: ['proj'] },
    ];
    const d = inferDraft(
      graphOf(
        tensor('x', [1, 3, 64, 64]),
        [
          tensor('g1', [1, 16]),
          tensor('g2', [1, 1, 16, 16]),
          tensor('out3', [1, 16, 16, 16]),
          tensor('proj', [1, 64, 16, 16]),
        ],
        nodes,
      ),
      'cbam.onnx',
    );
    expect(roleOf(d, 'g1')).toMatchObject({ value: 'cbam_channel_gate', certainty: 'inferred' });
    expect(roleOf(d, 'g2')).toMatchObject({ value: 'cbam_spatial_gate', certainty: 'inferred' });
    expect(roleOf(d, 'out3')).toMatchObject({ value: 'cbam_refined', certainty: 'inferred' });
    expect(d.outputs.find((o) => o.name === 'g2')!.choices[0].fixed).toEqual({ site: 'site1', stride: 4 });
    const proj = d.outputs.find((o) => o.name === 'proj')!;
    expect(proj.role).toMatchObject({ value: 'ignore', certainty: 'ask' });
    expect(proj.choices.find((c) => c.role === 'attnfd_projected')!.fixed).toEqual({ site: 'site1', stride: 4 });
    // the same shapes without the edges between them: no site
    const loose = inferDraft(
      graphOf(
        tensor('x', [1, 3, 64, 64]),
        [tensor('g1', [1, 16]), tensor('g2', [1, 1, 16, 16])],
        nodes.filter((n) => n.opType === 'Sigmoid'),
      ),
      'loose.onnx',
    );
    expect(roleOf(loose, 'g1').certainty).toBe('ask');
    expect(roleOf(loose, 'g2').value).toBe('ignore');
  });

  it("DETR's softmax head with a no-object column takes COCO categories at their ids", () => {
    const d = inferDraft(
      graphOf(tensor('pixel_values', [1, 3, 800, 800]), [
        tensor('logits', [1, 100, 92]),
        tensor('pred_boxes', [1, 100, 4]),
      ]),
      'detr-resnet-50.onnx',
    );
    expect(roleOf(d, 'logits')).toMatchObject({ value: 'box_logits', certainty: 'inferred' });
    expect(roleOf(d, 'pred_boxes')).toMatchObject({ value: 'boxes', certainty: 'inferred' });
    const a = defaultAnswers(d);
    a.outputs.logits.values.activation = 'softmax_no_object';
    a.classNames = Array.from({ length: 91 }, (_, i) => (i === 0 ? 'N/A' : `cat${i}`));
    const { contract, errors } = checkDraft(d, a);
    expect(errors).toEqual([]);
    expect(contract!.outputs[0]).toMatchObject({
      activation: 'softmax',
      labels: [...Array(91).keys()],
      block: 'one_to_one',
    });
    expect(contract!.outputs[1]).toMatchObject({ box_format: 'cxcywh_normalized', block: 'one_to_one' });
    expect(contract!.model.task).toBe('detection');
    // with a sigmoid, 92 columns need 92 (or 93) names: said, not guessed
    a.outputs.logits.values.activation = 'sigmoid';
    expect(buildContract(d, a).problems).toEqual([
      'logits has 92 class columns but 91 class names are given: give 92 (one per column), or 93 with a first background class that has no column',
    ]);
  });
});

describe('reading graphs from bytes', () => {
  it('a plain ONNX file: its input, output and nodes', () => {
    const bytes = new Uint8Array(readFileSync(join(root, 'tests/fixtures/foreign-relu.onnx')));
    expect(readOnnxGraph(bytes)).toEqual({
      inputs: [{ name: 'image', dtype: 'float32', dims: [1, 3, 160, 160] }],
      outputs: [{ name: 'out', dtype: 'float32', dims: [1, 3, 160, 160] }],
      nodes: [{ opType: 'Relu', inputs: ['image'], outputs: ['out'] }],
    });
    const d = draftOfPlainOnnx(bytes, 'foreign.onnx')!;
    expect(roleOf(d, 'out')).toMatchObject({ value: 'segmentation_logits', certainty: 'inferred' });
  });
  it('no draft for a model with a contract, or for bytes that are not ONNX', () => {
    expect(
      draftOfPlainOnnx(new Uint8Array(readFileSync(join(root, 'public/models/seg-teacher.onnx'))), 'x.onnx'),
    ).toBeNull();
    expect(draftOfPlainOnnx(new Uint8Array([1, 2, 3]), 'x.onnx')).toBeNull();
    expect(draftOfPlainOnnx(new Uint8Array(0), 'x.onnx')).toBeNull();
  });
});
