/**
 * The AttnLens contract, TypeScript half: JSON Schema + the same semantic rules, with the same error codes,
 * as ml/attnlens_ml/contract.py. Both halves are tested against contract/examples.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import schema from '../../contract/attnlens-contract.schema.json';
import { inputSize } from '../analysis/geometry';
import type { Contract, ContractError, ContractOutput, GraphSignature } from './types';

export const METADATA_KEY = 'attnlens.contract';
export const EXPORT_KIT_HINT =
  'Re-export the model with the AttnLens export kit (ml/attnlens_ml/export_kit.py) or fix its sidecar <model>.contract.json.';

const ajv = new Ajv2020({ allErrors: true, strict: false });
const schemaCheck = ajv.compile(schema);

const label = (i: number, o: { name?: string }) => `outputs[${i}] '${o.name ?? '?'}'`;
const sameDims = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Every problem with a parsed contract document; empty means valid. */
export function validateContract(doc: unknown): ContractError[] {
  if (!schemaCheck(doc)) {
    return (schemaCheck.errors ?? []).map((e) => ({
      code: 'schema',
      message: `${e.instancePath.replace(/^\//, '') || '(root)'}: ${e.message ?? 'invalid'}`,
    }));
  }
  return semanticErrors(doc as unknown as Contract);
}

function semanticErrors(c: Contract): ContractError[] {
  const errs: ContractError[] = [];
  const add = (code: string, message: string) => errs.push({ code, message });
  const { height: inH, width: inW } = inputSize(c.input);
  const classIds = c.classes.map((k) => k.id);
  if (![...classIds].sort((a, b) => a - b).every((v, i) => v === i)) {
    add(
      'class-ids',
      `class ids must be 0..${classIds.length - 1} without gaps or repeats, got [${classIds.join(', ')}]`,
    );
  }
  const names = c.outputs.map((o) => o.name);
  for (const n of [...new Set(names.filter((n, i) => names.indexOf(n) !== i))].sort()) {
    add('duplicate-output', `output name '${n}' is declared more than once`);
  }

  const sites = new Map<string, Map<string, ContractOutput>>();
  c.outputs.forEach((o, i) => {
    const s = o.shape;
    switch (o.role) {
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
        const missing = labels.filter((k) => !classIds.includes(k));
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
      if (s[2] !== labels.length)
        add('label-count', `${label(i, o)} has ${s[2]} class logits but lists ${labels.length} labels`);
      const missing = labels.filter((k) => !classIds.includes(k));
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
 * Problems that do not make a valid contract unusable: a `model.methods` entry whose outputs are missing
 * (`method-needs`). The views follow the outputs, so such a method's views are simply absent.
 */
export function contractWarnings(c: Contract): ContractError[] {
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

/** Declared input/outputs against what the runtime reports for the graph. */
export function checkAgainstGraph(c: Contract, graph: GraphSignature): ContractError[] {
  const errs: ContractError[] = [];
  const input = graph.inputs.find((g) => g.name === c.input.name);
  if (!input) {
    errs.push({
      code: 'input-missing',
      message: `input '${c.input.name}' is not an input of the graph (it has [${graph.inputs.map((g) => g.name).join(', ')}])`,
    });
  } else if (input.shape && !sameDims(input.shape, c.input.shape)) {
    errs.push({
      code: 'input-shape',
      message: `input '${c.input.name}' is [${input.shape.join(', ')}] in the graph but [${c.input.shape.join(', ')}] in the contract; export with a fixed input size`,
    });
  }
  const outputs = new Map(graph.outputs.map((g) => [g.name, g]));
  c.outputs.forEach((o, i) => {
    const g = outputs.get(o.name);
    if (!g) {
      errs.push({
        code: 'output-missing',
        message: `${label(i, o)} is not an output of the graph (graph outputs: [${[...outputs.keys()].sort().join(', ')}])`,
      });
    } else if (g.shape && !sameDims(g.shape, o.shape)) {
      errs.push({
        code: 'output-shape',
        message: `${label(i, o)} is [${g.shape.join(', ')}] in the graph but [${o.shape.join(', ')}] in the contract`,
      });
    }
  });
  return errs;
}
