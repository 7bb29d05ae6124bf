/**
 * A draft plus the user's answers → a contract (pure), checked as any contract is: the schema and semantic
 * rules (validate.ts) and the graph (checkAgainstGraph), so the form shows the validator's own errors before
 * the model loads. Answers are kept as the text typed or picked, parsed here with a problem in words each.
 */

import type { Contract, ContractClass, ContractOutput } from '../types';
import { checkAgainstGraph, validateContract } from '../validate';
import { classColumns } from './infer';
import type { DraftContract, DraftRole, NormalisationPreset, QuestionField, ScoreActivation } from './types';

/** The normalisation presets the form offers: pixel ÷ scale, then (v − mean) / std per channel. */
export const NORMALISATIONS: Record<
  Exclude<NormalisationPreset, 'custom'>,
  { label: string; scale: number; mean: [number, number, number]; std: [number, number, number] }
> = {
  imagenet: { label: 'ImageNet', scale: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  unit: { label: '0–1', scale: 255, mean: [0, 0, 0], std: [1, 1, 1] },
  symmetric: { label: '−1–1', scale: 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

export interface DraftAnswers {
  model: { id: string; name: string; role: 'teacher' | 'student' };
  input: {
    name: string;
    height: string;
    width: string;
    layout: 'NCHW' | 'NHWC';
    color: 'RGB' | 'BGR';
    resize: 'stretch' | 'letterbox';
    /** Comma-separated numbers as typed ("0.485, 0.456, 0.406"). */
    scale: string;
    mean: string;
    std: string;
  };
  /** One per class, id = position. */
  classNames: string[];
  /** Per query block (keyed by its number of queries): its kind and, for one-to-many, k. */
  blocks: Record<string, { block: 'one_to_one' | 'one_to_many'; k: string }>;
  outputs: Record<string, { role: DraftRole; values: Partial<Record<QuestionField, string>> }>;
}

const triple = (v: readonly number[]) => v.join(', ');

/** The answers the form starts from: every inferred value, and every question's default (to be confirmed). */
export function defaultAnswers(d: DraftContract): DraftAnswers {
  const preset = d.input.normalisation.value === 'custom' ? 'imagenet' : d.input.normalisation.value;
  const norm = NORMALISATIONS[preset];
  return {
    model: { id: d.model.id, name: d.model.name, role: d.model.role.value },
    input: {
      name: d.input.name.value,
      height: String(d.input.size.value?.[0] ?? ''),
      width: String(d.input.size.value?.[1] ?? ''),
      layout: d.input.layout.value,
      color: d.input.color.value,
      resize: d.input.resize.value,
      scale: String(norm.scale),
      mean: triple(norm.mean),
      std: triple(norm.std),
    },
    classNames: Array.from({ length: d.classes.value }, (_, i) => `class ${i}`),
    blocks: Object.fromEntries(
      d.blocks.map((b) => [String(b.queries), { block: b.block.value, k: String(b.k.value) }]),
    ),
    outputs: Object.fromEntries(
      d.outputs.map((o) => [o.name, { role: o.role.value, values: questionDefaults(d, o.name, o.role.value) }]),
    ),
  };
}

/** The defaults of the questions an output's role asks (when the user picks another role, its questions start here). */
export function questionDefaults(
  d: DraftContract,
  output: string,
  role: DraftRole,
): Partial<Record<QuestionField, string>> {
  const o = d.outputs.find((x) => x.name === output);
  const choice = o?.choices.find((c) => c.role === role);
  return Object.fromEntries((choice?.questions ?? []).map((q) => [q.field, q.default]));
}

/** Colours for class ids: the zoo's first (id 0, background, dark), then well-separated hues. */
const PALETTE = [
  '#1f2430',
  '#e6194b',
  '#3cb44b',
  '#ffe119',
  '#4363d8',
  '#f58231',
  '#f032e6',
  '#46f0f0',
  '#911eb4',
  '#bcf60c',
  '#008080',
  '#fabebe',
  '#9a6324',
  '#800000',
  '#aaffc3',
  '#808000',
  '#000075',
  '#ffd8b1',
];
export const classColor = (id: number): string => {
  if (id < PALETTE.length) return PALETTE[id];
  const hue = (id * 137.508) % 360; // golden angle: neighbours stay apart
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const v = 0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * v)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
};

export type ClassNamesParse = { ok: true; names: string[]; note?: string } | { ok: false; problem: string };

/**
 * Class names pasted or typed: one per line, or a COCO file's `categories` (or such a list alone) — placed at
 * their ids, a gap filled with "unused <id>", since a model's columns follow the category ids.
 */
export function parseClassNames(text: string): ClassNamesParse {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed))
    return {
      ok: true,
      names: trimmed
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
    };
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (e) {
    return {
      ok: false,
      problem: `this is not JSON (${(e as Error).message}): give one class name per line, or COCO categories`,
    };
  }
  const list = Array.isArray(doc) ? doc : (doc as { categories?: unknown }).categories;
  if (!Array.isArray(list) || !list.length)
    return { ok: false, problem: 'JSON without "categories": give one class name per line, or COCO categories' };
  if (list.every((c) => typeof c === 'string')) return { ok: true, names: list as string[] };
  const cats = list.filter(
    (c): c is { id: number; name: string } =>
      typeof c === 'object' && c !== null && Number.isInteger(c.id) && c.id >= 0 && typeof c.name === 'string',
  );
  if (cats.length !== list.length)
    return { ok: false, problem: 'every COCO category needs a whole-number "id" (0 or more) and a "name"' };
  const top = Math.max(...cats.map((c) => c.id));
  if (top >= 10_000) return { ok: false, problem: `category id ${top} is too large for a class list` };
  const names = Array.from({ length: top + 1 }, (_, id) => `unused ${id}`);
  for (const c of cats) names[c.id] = c.name.trim() || `unused ${c.id}`;
  const gaps = names.length - cats.length;
  return {
    ok: true,
    names,
    note: `${cats.length} COCO categories placed at their ids 0–${top}${gaps ? ` (${gaps} unused id${gaps === 1 ? '' : 's'} filled in)` : ''}`,
  };
}

/**
 * The class ids of an output's L class columns among N classes: one per column (N = L), or — N = L + 1 — a
 * first class (background) that has no column. Anything else is asked back, not guessed.
 */
export function labelsFor(columns: number, classes: number): number[] | null {
  if (classes === columns) return Array.from({ length: columns }, (_, i) => i);
  if (classes === columns + 1) return Array.from({ length: columns }, (_, i) => i + 1);
  return null;
}

/** The version a draft's roles need: the lowest whose roles it uses (a writer stamps the lowest). */
function versionFor(outputs: ContractOutput[]): string {
  const roles = new Set(outputs.map((o) => o.role));
  if (roles.has('self_attention')) return '1.2';
  const v11 = [
    'box_logits',
    'boxes',
    'cross_attention',
    'encoder_attention',
    'router_weights',
    'adapter_features',
    'token_features',
  ];
  return v11.some((r) => roles.has(r as ContractOutput['role'])) ? '1.1' : '1.0';
}

function taskOf(outputs: ContractOutput[]): Contract['model']['task'] {
  const roles = new Set(outputs.map((o) => o.role));
  if (roles.has('segmentation_logits')) return 'segmentation';
  if (roles.has('boxes')) return 'detection';
  if (roles.has('class_logits') || roles.has('multilabel_logits')) return 'classification';
  return 'features';
}

const numbers = (text: string) =>
  text
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(Number);

/** The contract the answers make, and the problems that keep them from making one (in words). */
export function buildContract(d: DraftContract, a: DraftAnswers): { contract: Contract | null; problems: string[] } {
  const problems = [...d.blockers];
  const height = Number(a.input.height);
  const width = Number(a.input.width);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1)
    problems.push('input size: give the height and width in pixels (whole numbers)');
  const scale = Number(a.input.scale);
  if (!(scale > 0)) problems.push('input scale: a number above 0 (255 turns 0–255 pixels into 0–1)');
  const mean = numbers(a.input.mean);
  const std = numbers(a.input.std);
  for (const [what, v] of [
    ['mean', mean],
    ['std', std],
  ] as const)
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x)))
      problems.push(`input ${what}: three numbers, one per channel (e.g. 0.485, 0.456, 0.406)`);

  const names = a.classNames.map((n) => n.trim());
  if (!names.length) problems.push('classes: give at least one class name');
  names.forEach((n, i) => {
    if (!n) problems.push(`classes: class ${i} has no name`);
  });
  const classes: ContractClass[] = names.map((name, id) => ({ id, name, color: classColor(id) }));

  const outputs: ContractOutput[] = [];
  for (const o of d.outputs) {
    const answer = a.outputs[o.name];
    const role = answer?.role ?? 'ignore';
    if (role === 'ignore') continue;
    const choice = o.choices.find((c) => c.role === role);
    if (!choice || !o.shape) {
      problems.push(`${o.name}: its shape does not allow the role ${role}`);
      continue;
    }
    const out: ContractOutput = { name: o.name, role, shape: [...o.shape], ...structuredClone(choice.fixed) };
    const value = (field: QuestionField) => (answer.values[field] ?? '').trim();
    for (const q of choice.questions) {
      const v = value(q.field);
      const where = `${o.name} ${q.field}`;
      if (q.kind === 'choice' && !q.options?.includes(v))
        problems.push(`${where}: pick one of ${q.options?.join(', ')}`);
      else if (q.field === 'upsample') out.upsample = v as ContractOutput['upsample'];
      else if (q.field === 'box_format') out.box_format = v as ContractOutput['box_format'];
      else if (q.field === 'activation') out.activation = (v as ScoreActivation) === 'sigmoid' ? 'sigmoid' : 'softmax';
      else if (q.field === 'teacher' || q.field === 'teacher_output') out[q.field] = v;
      else if (q.field === 'layer') {
        if (!/^\d+$/.test(v)) problems.push(`${where}: a layer number (0 or more)`);
        else out.layer = Number(v);
      } else if (q.field === 'layers') {
        const layers = numbers(v);
        if (!layers.length || layers.some((x) => !Number.isInteger(x) || x < 0))
          problems.push(`${where}: layer numbers, comma-separated (0 is the first block)`);
        else out.layers = layers;
      } else if (q.field === 'paths') out.paths = v.split(',').map((p) => p.trim());
    }
    const columns = classColumns(o, role);
    if (columns !== null && role !== 'segmentation_logits') {
      const noObject = role === 'box_logits' && value('activation') === 'softmax_no_object';
      const labelled = noObject ? columns - 1 : columns;
      const labels = labelsFor(labelled, names.length);
      if (labels) out.labels = labels;
      else
        problems.push(
          `${o.name} has ${labelled} class column${labelled === 1 ? '' : 's'}${noObject ? ' (and a last no-object column)' : ''} but ${names.length} class names are given: give ${labelled} (one per column), or ${labelled + 1} with a first background class that has no column`,
        );
    }
    if (choice.queries !== undefined) {
      const block = a.blocks[String(choice.queries)];
      out.block = block?.block ?? 'one_to_one';
      if (out.block === 'one_to_many') {
        const k = Number(block?.k);
        if (!Number.isInteger(k) || k < 1)
          problems.push(`query block of ${choice.queries}: k is a whole number, 1 or more`);
        else out.k = k;
      }
    }
    outputs.push(out);
  }
  if (!outputs.length) problems.push('no output is kept: give at least one output a role');
  if (problems.length) return { contract: null, problems };

  const layout = a.input.layout;
  const contract: Contract = {
    format: 'attnlens-contract',
    version: versionFor(outputs),
    model: {
      id: a.model.id.trim(),
      name: a.model.name.trim() || a.model.id.trim(),
      task: taskOf(outputs),
      role: a.model.role,
      family: 'plain-onnx',
      description: `Drafted by AttnLens from the graph of ${d.file} and confirmed by its user.`,
    },
    input: {
      name: a.input.name,
      shape: layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3],
      layout,
      dtype: d.input.dtype === 'float16' ? 'float16' : 'float32',
      color: a.input.color,
      scale,
      mean: mean as [number, number, number],
      std: std as [number, number, number],
      resize: a.input.resize,
    },
    classes,
    outputs,
  };
  return { contract, problems: [] };
}

/**
 * The contract the answers make and everything wrong with it, as the user reads it: the draft's own problems,
 * else the validator's errors (schema and semantic rules) and the graph check's, each with its code.
 */
export function checkDraft(d: DraftContract, a: DraftAnswers): { contract: Contract | null; errors: string[] } {
  const { contract, problems } = buildContract(d, a);
  if (!contract) return { contract, errors: problems };
  const errors = [...validateContract(contract), ...checkAgainstGraph(contract, d.signature)].map(
    (e) => `${e.code}: ${e.message}`,
  );
  return { contract: errors.length ? null : contract, errors };
}

/** The sidecar's file name for a model file: `model.onnx` (or `model.onnx.gz`) → `model.contract.json`. */
export const sidecarName = (file: string): string =>
  `${file.replace(/\.gz$/i, '').replace(/\.onnx$/i, '') || 'model'}.contract.json`;
