/**
 * The AttnLens contract, TypeScript half: JSON Schema + the same semantic rules, with the same error codes,
 * as ml/attnlens_ml/contract.py. Both halves are tested against contract/examples.
 *
 * The schema is compiled at build time (scripts/vite-plugins.ts → `virtual:attnlens-contract-validator`), so
 * validating a contract runs no eval / new Function and the app keeps its strict Content-Security-Policy.
 */
import schemaCheck from 'virtual:attnlens-contract-validator';
import schemaFirstError from 'virtual:attnlens-contract-validator/first';
import schema from '../../contract/attnlens-contract.schema.json';
import { inputSize } from '../analysis/geometry';
import type { Contract, ContractError, ContractOutput, GraphSignature } from './types';

export const METADATA_KEY = 'attnlens.contract';
export const EXPORT_KIT_HINT =
  'Re-export the model with the AttnLens export kit (ml/attnlens_ml/export_kit.py) or fix its sidecar <model>.contract.json.';

/** The contract version this AttnLens implements: it reads every 1.x, and shows what 1.0–1.4 define. */
export const CONTRACT_VERSION = '1.4';
const KNOWN_MINOR = 4;
/** At most this many unknown roles / fields are named in the `newer-version` warning (then "and N more"). */
const MAX_LISTED = 20;
/** At most this many problems are reported for one document (a mangled one can have 100 000). */
export const MAX_ERRORS = 100;

const keys = (o: { properties: object }) => new Set(Object.keys(o.properties));
const KNOWN = {
  top: keys(schema),
  model: keys(schema.properties.model),
  input: keys(schema.properties.input),
  classes: keys(schema.properties.classes.items),
  output: keys(schema.$defs.output),
  roles: new Set<string>(schema.$defs.output.properties.role.enum),
  methods: new Set<string>(schema.properties.model.properties.methods.items.enum),
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const outputLabel = (i: number, o: { name?: string }) => `outputs[${i}] '${o.name ?? '?'}'`;
const sameDims = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);
/**
 * The graph's shape accepts the contract's: the same rank, each axis equal or left open in the graph (a named or
 * unknown dimension, as a dynamic batch axis exported by torch.onnx.export(dynamic_axes=…)): AttnLens feeds and
 * reads the contract's shape.
 */
const graphAccepts = (graph: readonly unknown[], contract: readonly number[]) =>
  graph.length === contract.length &&
  graph.every((v, i) => v === contract[i] || typeof v !== 'number' || v < 0 || v === 0);
/** Unicode code-point order, as Python sorts strings (JS's default sort compares UTF-16 units). */
const byCodePoint = (a: string, b: string) => {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // at the first differing unit, whole code points (equal high surrogates before it leave low ones comparable)
  return i < n ? a.codePointAt(i)! - b.codePointAt(i)! : a.length - b.length;
};

/** MAJOR and MINOR of a document's `version` ("1.3"), or null when it is not a MAJOR.MINOR string. */
function versionOf(doc: unknown): { text: string; major: number; minor: number } | null {
  if (!isObject(doc) || typeof doc.version !== 'string') return null;
  const m = /^([0-9]+)\.([0-9]+)$/.exec(doc.version);
  return m ? { text: doc.version, major: Number(m[1]), minor: Number(m[2]) } : null;
}

/**
 * What this AttnLens reads of a document from a newer 1.x minor (minors only add optional fields and output
 * roles): the document without the fields and outputs it does not know (`view`, what is validated), where each
 * kept output came from (`index`), and what was left out, for the `newer-version` warning (`unshown`).
 */
function newerMinorView(doc: Record<string, unknown>) {
  const roles: string[] = [];
  const methods: string[] = [];
  const fields: string[] = [];
  const pick = (obj: unknown, known: Set<string>, path: string): unknown => {
    if (!isObject(obj)) return obj;
    const extra = Object.keys(obj)
      .filter((k) => !known.has(k))
      .sort(byCodePoint);
    fields.push(...extra.map((k) => `field ${path}${k}`));
    return Object.fromEntries(Object.entries(obj).filter(([k]) => known.has(k)));
  };
  const view = pick(doc, KNOWN.top, '') as Record<string, unknown>;
  if (isObject(doc.model)) {
    const model = pick(doc.model, KNOWN.model, 'model.') as Record<string, unknown>;
    if (Array.isArray(model.methods)) {
      const unknown = model.methods.filter((m) => typeof m === 'string' && !KNOWN.methods.has(m)) as string[];
      methods.push(...unknown.map((m) => `model.methods '${m}'`));
      model.methods = model.methods.filter((m) => typeof m !== 'string' || KNOWN.methods.has(m));
    }
    view.model = model;
  }
  if ('input' in doc) view.input = pick(doc.input, KNOWN.input, 'input.');
  if (Array.isArray(doc.classes)) view.classes = doc.classes.map((k, i) => pick(k, KNOWN.classes, `classes[${i}].`));
  const index: number[] = [];
  if (Array.isArray(doc.outputs)) {
    const outputs: unknown[] = [];
    doc.outputs.forEach((o, i) => {
      if (isObject(o) && typeof o.role === 'string' && !KNOWN.roles.has(o.role)) {
        roles.push(`outputs[${i}] role '${o.role}'`);
        return;
      }
      outputs.push(pick(o, KNOWN.output, `outputs[${i}].`));
      index.push(i);
    });
    view.outputs = outputs;
  }
  return { view, index, unshown: [...roles, ...methods, ...fields] };
}

/** Every problem with a parsed contract document; empty means valid. */
export function validateContract(doc: unknown): ContractError[] {
  const v = versionOf(doc);
  if (v && v.major > 1)
    return [
      {
        code: 'version',
        message: `This model's contract is version ${v.text}; this AttnLens reads 1.x — update AttnLens`,
      },
    ];
  if (!v || v.minor <= KNOWN_MINOR || !isObject(doc)) return checked(doc, []);
  const { view, index } = newerMinorView(doc);
  if (Array.isArray(doc.outputs) && doc.outputs.length > 0 && index.length === 0)
    return [
      {
        code: 'version',
        message: `This model's contract is version ${v.text} and none of its outputs has a role this AttnLens knows (it reads up to ${CONTRACT_VERSION}) — update AttnLens`,
      },
    ];
  return checked(view, index);
}

/** Whether a document has at most `limit` values (objects, arrays and scalars), counted no further than that. */
function small(doc: unknown, limit: number): boolean {
  const stack = [doc];
  let n = 0;
  while (stack.length) {
    if (++n > limit) return false;
    const v = stack.pop();
    if (v && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return true;
}

/**
 * Schema, then semantic rules; `index` maps the checked outputs back to the document's (empty: the same). A
 * valid document is checked once; an invalid one gets every schema error when it is of a contract's size, and
 * the first one when it is huge (listing 100 000 errors of a mangled array would take a noticeable moment).
 */
function checked(doc: unknown, index: number[]): ContractError[] {
  const at = (i: number) => index[i] ?? i;
  if (!schemaFirstError(doc)) {
    const errors = small(doc, 20_000) && !schemaCheck(doc) ? schemaCheck.errors : schemaFirstError.errors;
    return (errors ?? []).slice(0, MAX_ERRORS).map((e) => ({
      code: 'schema',
      message: `${e.instancePath.replace(/^\/outputs\/(\d+)/, (_m, i) => `/outputs/${at(Number(i))}`).replace(/^\//, '') || '(root)'}: ${e.message ?? 'invalid'}`,
    }));
  }
  return semanticErrors(doc as unknown as Contract, at);
}

function semanticErrors(c: Contract, at: (i: number) => number): ContractError[] {
  const errs: ContractError[] = [];
  const add = (code: string, message: string) => {
    if (errs.length < MAX_ERRORS) errs.push({ code, message });
  };
  const label = (i: number, o: { name?: string }) => outputLabel(at(i), o);
  c.input.std.forEach((v, i) => {
    if (v === 0)
      add(
        'std-zero',
        `input.std[${i}] is 0: pre-processing divides channel ${i} by it, which gives infinities and NaN; give the channel's standard deviation (1 leaves it unscaled)`,
      );
  });
  const { height: inH, width: inW } = inputSize(c.input);
  const classIds = c.classes.map((k) => k.id);
  const classSet = new Set(classIds);
  if (![...classIds].sort((a, b) => a - b).every((v, i) => v === i)) {
    add(
      'class-ids',
      `class ids must be 0..${classIds.length - 1} without gaps or repeats, got [${classIds.join(', ')}]`,
    );
  }
  const names = c.outputs.map((o) => o.name);
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const n of names) (seen.has(n) ? repeated : seen).add(n);
  for (const n of [...repeated].sort(byCodePoint)) {
    add('duplicate-output', `output name '${n}' is declared more than once`);
  }

  const sites = new Map<string, Map<string, ContractOutput>>();
  const gateSites = new Set<string>();
  c.outputs.forEach((o, i) => {
    const s = o.shape;
    switch (o.role) {
      case 'channel_gate': // 1.4: a channel-only gate (squeeze-and-excitation), one per site
        if (gateSites.has(o.site!)) add('duplicate-site-output', `site '${o.site}' declares two channel_gate outputs`);
        gateSites.add(o.site!);
        break;
      case 'segmentation_logits':
        if (s[1] !== classIds.length)
          add('class-count', `${label(i, o)} has ${s[1]} channels but the contract lists ${classIds.length} classes`);
        if (s[2] !== inH || s[3] !== inW)
          add(
            'logits-size',
            `${label(i, o)} is ${s[2]}x${s[3]} but the input is ${inH}x${inW}; export logits at input size`,
          );
        break;
      case 'class_logits':
      case 'multilabel_logits': {
        const labels = o.labels ?? [];
        if (s[1] !== labels.length)
          add('label-count', `${label(i, o)} has ${s[1]} logits but lists ${labels.length} labels`);
        const missing = labels.filter((k) => !classSet.has(k));
        if (missing.length)
          add('unknown-class', `${label(i, o)} names class ids [${missing.join(', ')}] that are not in classes`);
        break;
      }
      case 'cbam_channel_gate':
      case 'cbam_spatial_gate':
      case 'cbam_refined':
      case 'attnfd_projected': {
        const kind = o.role.replace(/^cbam_/, '').replace(/_gate$/, '');
        const site = sites.get(o.site!) ?? new Map<string, ContractOutput>();
        sites.set(o.site!, site);
        if (site.has(kind)) add('duplicate-site-output', `site '${o.site}' declares two ${o.role} outputs`);
        site.set(kind, o);
        if (s.length === 4 && (o.stride! * s[2] !== inH || o.stride! * s[3] !== inW))
          add(
            'stride',
            `${label(i, o)} is ${s[2]}x${s[3]} at stride ${o.stride}, which does not cover the ${inH}x${inW} input`,
          );
        break;
      }
      case 'cls_attention':
      case 'cls_key_cosine': {
        const [gh, gw] = o.grid!;
        const expect = gh * gw + (o.keys === 'all_tokens' ? 1 : 0);
        if (s[s.length - 1] !== expect)
          add(
            'token-count',
            `${label(i, o)} has ${s[s.length - 1]} keys but grid ${gh}x${gw} with keys='${o.keys}' means ${expect}`,
          );
        if (gh * o.patch! !== inH || gw * o.patch! !== inW)
          add(
            'grid',
            `${label(i, o)}: grid ${gh}x${gw} of ${o.patch}-px patches does not tile the ${inH}x${inW} input`,
          );
        if (o.role === 'cls_attention' && o.layers!.length !== s[1])
          add('layer-count', `${label(i, o)} lists ${o.layers!.length} layers but its shape has ${s[1]}`);
        break;
      }
      case 'self_attention': {
        const [gh, gw] = o.grid!;
        const expect = gh * gw + (o.cls_token === 'leads' ? 1 : 0);
        if (s[3] !== s[4]) add('token-count', `${label(i, o)} must be square over tokens, is ${s[3]}x${s[4]}`);
        if (s[4] !== expect)
          add(
            'token-count',
            `${label(i, o)} has ${s[4]} tokens but grid ${gh}x${gw} with cls_token='${o.cls_token}' means ${expect}`,
          );
        if (gh * o.patch! !== inH || gw * o.patch! !== inW)
          add(
            'grid',
            `${label(i, o)}: grid ${gh}x${gw} of ${o.patch}-px patches does not tile the ${inH}x${inW} input`,
          );
        if (o.layers!.length !== s[1])
          add('layer-count', `${label(i, o)} lists ${o.layers!.length} layers but its shape has ${s[1]}`);
        break;
      }
    }
  });

  c.outputs.forEach((o, i) => {
    if (o.role !== 'self_attention') return;
    c.outputs.forEach((p, j) => {
      if (p.role !== 'cls_attention' && p.role !== 'cls_key_cosine') return;
      const heads = p.role === 'cls_attention' ? p.shape[2] : p.shape[1];
      if (heads !== o.shape[2] || !sameDims(p.grid!, o.grid!) || p.patch !== o.patch)
        add(
          'attention-mismatch',
          `${label(i, o)} (${o.shape[2]} heads, grid ${o.grid![0]}x${o.grid![1]} of ${o.patch} px) does not describe the same ViT as ${label(j, p)} (${heads} heads, grid ${p.grid![0]}x${p.grid![1]} of ${p.patch} px)`,
        );
    });
  });

  const blocks = new Map<string, Map<string, [number, ContractOutput]>>();
  c.outputs.forEach((o, i) => {
    const s = o.shape;
    if (o.role === 'box_logits' || o.role === 'boxes' || o.role === 'cross_attention') {
      const block = blocks.get(o.block!) ?? new Map<string, [number, ContractOutput]>();
      blocks.set(o.block!, block);
      block.set(o.role, [i, o]);
    }
    if (o.role === 'box_logits') {
      const labels = o.labels ?? [];
      // softmax (DETR's cross-entropy head) may end in one more column: the no-object class
      if (o.activation === 'softmax' && s[2] !== labels.length && s[2] !== labels.length + 1)
        add(
          'label-count',
          `${label(i, o)} has ${s[2]} class logits but lists ${labels.length} labels (softmax: one column per label, or one more for a last no-object column)`,
        );
      else if (o.activation !== 'softmax' && s[2] !== labels.length)
        add('label-count', `${label(i, o)} has ${s[2]} class logits but lists ${labels.length} labels`);
      const missing = labels.filter((k) => !classSet.has(k));
      if (missing.length)
        add('unknown-class', `${label(i, o)} names class ids [${missing.join(', ')}] that are not in classes`);
    } else if (o.role === 'boxes' && s[2] !== 4) {
      add('box-shape', `${label(i, o)} must end in 4 box coordinates, has ${s[2]}`);
    } else if (o.role === 'cross_attention' || o.role === 'encoder_attention' || o.role === 'token_features') {
      const [gh, gw] = o.grid!;
      const n = o.role === 'token_features' ? s[1] : s[s.length - 1];
      if (n !== gh * gw) add('token-count', `${label(i, o)} has ${n} keys but grid ${gh}x${gw} means ${gh * gw}`);
      if (o.role === 'encoder_attention' && s[2] !== s[3])
        add('token-count', `${label(i, o)} must be square over tokens, is ${s[2]}x${s[3]}`);
      const cell = o.role === 'token_features' ? o.patch! : o.stride!;
      if (gh * cell !== inH || gw * cell !== inW)
        add('grid', `${label(i, o)}: grid ${gh}x${gw} at ${cell} px does not tile the ${inH}x${inW} input`);
    } else if (o.role === 'router_weights' && s[1] !== o.paths!.length) {
      add('path-count', `${label(i, o)} has ${s[1]} weights but names ${o.paths!.length} paths`);
    } else if (o.role === 'adapter_features' && (o.stride! * s[2] !== inH || o.stride! * s[3] !== inW)) {
      add(
        'stride',
        `${label(i, o)} is ${s[2]}x${s[3]} at stride ${o.stride}, which does not cover the ${inH}x${inW} input`,
      );
    }
    if (o.score_threshold !== undefined && (o.role !== 'box_logits' || o.block !== 'one_to_one'))
      add(
        'score-threshold',
        `${label(i, o)} gives a score_threshold, but only the one_to_one block's box_logits may: it is the block that makes the detections`,
      );
  });
  for (const [name, parts] of blocks) {
    const logits = parts.get('box_logits');
    if (!logits || !parts.has('boxes')) {
      add('block-incomplete', `query block '${name}' needs both box_logits and boxes outputs`);
      continue;
    }
    const q = logits[1].shape[1];
    for (const [i, o] of parts.values()) {
      if (o.shape[1] !== q) add('block-shape', `${label(i, o)} has ${o.shape[1]} queries but block '${name}' has ${q}`);
    }
  }

  for (const [name, parts] of sites) {
    const ch = parts.get('channel');
    const sp = parts.get('spatial');
    if (!ch || !sp) {
      add('site-incomplete', `CBAM site '${name}' needs both a cbam_channel_gate and a cbam_spatial_gate output`);
      continue;
    }
    if (sp.shape[1] !== 1)
      add('spatial-shape', `spatial gate of site '${name}' must have 1 channel, has ${sp.shape[1]}`);
    const rf = parts.get('refined');
    if (rf && (rf.shape[1] !== ch.shape[1] || !sameDims(rf.shape.slice(2), sp.shape.slice(2)))) {
      add(
        'site-shape',
        `refined map of site '${name}' is [${rf.shape.join(', ')}], expected [1, ${ch.shape[1]}, ${sp.shape[2]}, ${sp.shape[3]}] from its gates`,
      );
    }
  }
  return errs;
}

/**
 * What each method's views need, as predicates over the outputs. `model.methods` is informational (the app
 * derives the applicable views from the outputs alone); a listed method whose outputs are missing is a
 * warning, code `method-needs` — the same list, messages and order as contract_warnings in
 * ml/attnlens_ml/contract.py.
 */
const METHOD_NEEDS: [string, string, (roles: Set<string>, blocks: Set<string>) => boolean][] = [
  [
    'attnfd',
    'CBAM site',
    (r) => ['cbam_channel_gate', 'cbam_spatial_gate', 'cbam_refined', 'attnfd_projected'].some((x) => r.has(x)),
  ],
  ['vit-pseudo-mask', 'cls_attention output', (r) => r.has('cls_attention')],
  ['h-detr', 'one_to_many query block', (_r, b) => b.has('one_to_many')],
  [
    'ks-detr',
    'encoder_attention or cross_attention output',
    (r) => r.has('encoder_attention') || r.has('cross_attention'),
  ],
  ['sak', 'router_weights or adapter_features output', (r) => r.has('router_weights') || r.has('adapter_features')],
];

/**
 * Problems that do not make a valid contract unusable: what a newer 1.x minor adds that this AttnLens does not
 * show (`newer-version`: output roles, methods and fields it does not know), and a `model.methods` entry whose
 * outputs are missing (`method-needs`: the views follow the outputs, so such a method's views are simply absent).
 */
export function contractWarnings(c: Contract): ContractError[] {
  const v = versionOf(c);
  const unshown = v && v.major === 1 && v.minor > KNOWN_MINOR ? newerMinorView(c as never).unshown : [];
  const newer = unshown.length
    ? [
        {
          code: 'newer-version',
          message: `the contract is version ${v!.text}, newer than this AttnLens (${CONTRACT_VERSION}); not shown by this version of AttnLens: ${[...unshown.slice(0, MAX_LISTED), ...(unshown.length > MAX_LISTED ? [`and ${unshown.length - MAX_LISTED} more`] : [])].join('; ')}`,
        },
      ]
    : [];
  return [...newer, ...methodNeeds(c)];
}

function methodNeeds(c: Contract): ContractError[] {
  const roles = new Set<string>(c.outputs.map((o) => o.role));
  const blocks = new Set<string>(
    c.outputs
      .filter((o) => ['box_logits', 'boxes', 'cross_attention'].includes(o.role) && o.block)
      .map((o) => o.block!),
  );
  const methods = c.model.methods ?? [];
  return METHOD_NEEDS.filter(([m, , ok]) => methods.includes(m) && !ok(roles, blocks)).map(([m, what]) => ({
    code: 'method-needs',
    message: `model.methods lists '${m}' but the model exports no ${what}, so its views will not show (methods is informational: the views follow the outputs)`,
  }));
}

/** The one_to_one block's recommended detection score threshold (contract 1.3), or null when none is given. */
export function recommendedScoreThreshold(c: Contract): number | null {
  const o = c.outputs.find(
    (x) => x.role === 'box_logits' && x.block === 'one_to_one' && x.score_threshold !== undefined,
  );
  return o ? o.score_threshold! : null;
}

/** Tensor element types AttnLens reads outputs as (float16 ones are widened to float32 in the worker). */
const OUTPUT_DTYPES = new Set(['float32', 'float16']);

/**
 * Declared input/outputs against what the runtime reports for the graph: names, static shapes, the input's
 * dtype, and outputs AttnLens can read (float32 or float16). Outputs of roles this AttnLens does not know (a
 * newer minor's) are not read, so not checked.
 */
export function checkAgainstGraph(c: Contract, graph: GraphSignature): ContractError[] {
  const errs: ContractError[] = [];
  const input = graph.inputs.find((g) => g.name === c.input.name);
  if (!input) {
    errs.push({
      code: 'input-missing',
      message: `input '${c.input.name}' is not an input of the graph (it has [${graph.inputs.map((g) => g.name).join(', ')}])`,
    });
  } else {
    if (input.shape && !graphAccepts(input.shape, c.input.shape))
      errs.push({
        code: 'input-shape',
        message: `input '${c.input.name}' is [${input.shape.join(', ')}] in the graph but [${c.input.shape.join(', ')}] in the contract; export with a fixed input size`,
      });
    if (input.type && input.type !== c.input.dtype)
      errs.push({
        code: 'input-dtype',
        message: `input '${c.input.name}' is ${input.type} in the graph but ${c.input.dtype} in the contract; AttnLens feeds the dtype the contract says (float32 or float16)`,
      });
  }
  const outputs = new Map(graph.outputs.map((g) => [g.name, g]));
  c.outputs.forEach((o, i) => {
    if (!KNOWN.roles.has(o.role)) return;
    const g = outputs.get(o.name);
    if (!g) {
      errs.push({
        code: 'output-missing',
        message: `${outputLabel(i, o)} is not an output of the graph (graph outputs: [${[...outputs.keys()].sort(byCodePoint).join(', ')}])`,
      });
      return;
    }
    if (g.shape && !graphAccepts(g.shape, o.shape))
      errs.push({
        code: 'output-shape',
        message: `${outputLabel(i, o)} is [${g.shape.join(', ')}] in the graph but [${o.shape.join(', ')}] in the contract`,
      });
    if (g.type && !OUTPUT_DTYPES.has(g.type))
      errs.push({
        code: 'output-dtype',
        message: `${outputLabel(i, o)} is ${g.type} in the graph; AttnLens reads float32 or float16 outputs`,
      });
  });
  return errs;
}
