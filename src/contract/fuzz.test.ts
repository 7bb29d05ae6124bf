/**
 * Fuzzing the contract reader: random documents, and the zoo's and the examples' contracts mutated (fields
 * deleted, inserted, retyped; huge arrays; deep nesting; NaN-like strings; versions) → loadContract and
 * validateContract never throw, always answer "ok" or a problem in words, each document in bounded time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Contract,
  type ContractResult,
  checkAgainstGraph,
  contractWarnings,
  loadContract,
  validateContract,
} from './index';

const root = join(__dirname, '../..');
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as {
  models: { file: string }[];
  variants?: { file: string }[];
};
const examples = JSON.parse(readFileSync(join(root, 'contract/examples/expected.json'), 'utf8')) as Record<
  string,
  string[]
>;
const embedded = (file: string) => {
  const r = loadContract(new Uint8Array(readFileSync(join(root, 'public', file))));
  if (!r.ok) throw new Error(r.problem);
  return r.contract;
};
/** Every contract the app ships or the spec lists: the seeds the mutations start from. */
const SEEDS: unknown[] = [
  ...[...index.models, ...(index.variants ?? [])].map((m) => embedded(m.file)),
  ...Object.keys(examples).map((f) => JSON.parse(readFileSync(join(root, 'contract/examples', f), 'utf8'))),
];
/** A tiny ONNX model whose embedded contract a sidecar replaces (the sidecar wins). */
const MODEL = new Uint8Array(readFileSync(join(root, 'tests/fixtures/tiny-detector-fp16.onnx')));

/**
 * Per document: 50 ms, plus 0.25 ms per KB of text beyond (parsing and validating are linear; a mutated
 * document with a 100 000-item array is a megabyte, refused in about 100-200 ms on a busy 2-core machine).
 */
const budgetMs = (text: string) => 50 + 0.25 * (text.length / 1024);
const HUGE = 100_000;
const DEEP = 2_000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path into a document (objects' keys, arrays' indices), the root included. */
function paths(doc: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(doc)) for (const [i, v] of doc.slice(0, 50).entries()) paths(v, [...at, i], out);
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...at, k], out);
  return out;
}

const get = (doc: Json, p: Path): Json => p.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], doc);

const NAN_LIKE = ['NaN', 'Infinity', '-Infinity', '1e309', '-0', '', 'null', 'undefined', '0x10', '1.3\n', ' 1.3'];
const FIELD_NAMES = ['role', 'shape', 'name', 'block', 'labels', 'grid', 'std', 'version', '__proto__', 'constructor'];
const scalar = fc.oneof(
  fc.constantFrom<Json>(...NAN_LIKE, 0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, true, false, null),
  fc.integer({ min: -3, max: 500 }),
  fc.string({ maxLength: 12 }),
);
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
);

type Mutation =
  | { kind: 'delete'; pick: number }
  | { kind: 'insert'; pick: number; key: string; value: Json }
  | { kind: 'retype'; pick: number; value: Json }
  | { kind: 'huge'; pick: number; item: Json }
  | { kind: 'deep'; pick: number; asObject: boolean }
  | { kind: 'copy'; pick: number; times: number }
  | { kind: 'version'; version: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    pick: fc.nat(),
    key: fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 8 })),
    value,
  }),
  fc.record({ kind: fc.constant('retype' as const), pick: fc.nat(), value }),
  fc.record({ kind: fc.constant('huge' as const), pick: fc.nat(), item: scalar }),
  fc.record({ kind: fc.constant('deep' as const), pick: fc.nat(), asObject: fc.boolean() }),
  fc.record({ kind: fc.constant('copy' as const), pick: fc.nat(), times: fc.integer({ min: 2, max: 2000 }) }),
  fc.record({
    kind: fc.constant('version' as const),
    version: fc.constantFrom(
      '1.4',
      '1.999',
      '1.99999999999999999999',
      '2.0',
      '10.1',
      '0.9',
      '1.3\n',
      '01.3',
      '1',
      '1.x',
    ),
  }),
);

/** Apply one mutation in place (the document is a fresh copy); returns the (possibly new) root. */
function mutate(doc: Json, m: Mutation): Json {
  if (m.kind === 'version') {
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) doc.version = m.version;
    return doc;
  }
  const all = paths(doc);
  const p = all[m.pick % all.length];
  const parent = p.length ? get(doc, p.slice(0, -1)) : null;
  const key = p[p.length - 1];
  const set = (v: Json): Json => {
    if (!parent) return v;
    (parent as Record<string | number, Json>)[key] = v;
    return doc;
  };
  const here = get(doc, p);
  switch (m.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (parent) delete (parent as Record<string, Json>)[key];
      return doc;
    case 'insert':
      if (Array.isArray(here)) here.splice(Math.min(m.pick % 7, here.length), 0, m.value);
      else if (here && typeof here === 'object')
        Object.defineProperty(here, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
      else return set(m.value);
      return doc;
    case 'retype':
      return set(m.value);
    case 'huge':
      return set(Array.from({ length: HUGE }, () => m.item));
    case 'deep': {
      let v: Json = here;
      for (let i = 0; i < DEEP; i++) v = m.asObject ? { a: v } : [v];
      return set(v);
    }
    case 'copy':
      if (Array.isArray(parent))
        parent.splice(key as number, 0, ...Array.from({ length: m.times }, () => structuredClone(here)));
      return doc;
  }
}

/** Milliseconds of one call; a slow first try is timed once more (a GC pause is not the reader's doing). */
function timed<T>(f: () => T, budget: number): { result: T; ms: number } {
  let t0 = performance.now();
  const result = f();
  let ms = performance.now() - t0;
  if (ms > budget) {
    t0 = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { result, ms };
}

const GRAPH = { inputs: [{ name: 'image', shape: [1, 3, 32, 32], type: 'float16' }], outputs: [] };

/** Time the reader spent, over every document, and the slowest one as a fraction of its budget. */
const spent = { ms: 0, docs: 0, worst: 0 };

/** loadContract on a sidecar text: never throws; ok with a contract, or a problem in words; fast. */
function checkReader(text: string): ContractResult {
  const budget = budgetMs(text);
  const { result, ms } = timed(() => loadContract(MODEL, text), budget);
  expect(ms).toBeLessThan(budget);
  spent.ms += ms;
  spent.docs++;
  spent.worst = Math.max(spent.worst, ms / budget);
  if (result.ok) {
    expect(typeof result.contract).toBe('object');
    for (const w of result.warnings) expect(w.message.length).toBeGreaterThan(0);
    // what the app does next with a valid contract must not throw either
    expect(() => checkAgainstGraph(result.contract, GRAPH)).not.toThrow();
    expect(() => contractWarnings(result.contract as Contract)).not.toThrow();
  } else {
    expect(result.problem).toMatch(/\w{3}/);
    expect(result.errors.length).toBeGreaterThan(0);
  }
  return result;
}

describe('the contract reader under fuzzing', () => {
  // warm the JIT once so the first document is not charged for compiling the reader
  checkReader(JSON.stringify(SEEDS[0]));

  it('reads every seed as the examples say (the corpus the mutations start from)', () => {
    expect(SEEDS.length).toBeGreaterThan(40);
    for (const s of SEEDS) expect(() => validateContract(s)).not.toThrow();
  });

  it('random JSON documents and random text: ok or a problem, never a throw', () => {
    const t0 = performance.now();
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (doc) => {
        expect(() => validateContract(doc)).not.toThrow();
        checkReader(JSON.stringify(doc) ?? 'null');
      }),
      { numRuns: 400, seed: 10 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        checkReader(text);
      }),
      { numRuns: 200, seed: 11 },
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('mutated zoo and example contracts: ok or a problem, never a throw, each in bounded time', () => {
    let ok = 0;
    let refused = 0;
    const t0 = performance.now();
    fc.assert(
      fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, ms) => {
        let doc = structuredClone(SEEDS[seed]) as Json;
        let grown = false; // one growing mutation per document (two would multiply: 3000 copies of 100 000 items)
        for (const m of ms) {
          const grows = m.kind === 'huge' || m.kind === 'deep' || m.kind === 'copy';
          if (grows && grown) continue;
          grown ||= grows;
          doc = mutate(doc, m);
        }
        let text: string;
        try {
          text = JSON.stringify(doc);
        } catch {
          return; // too deep for JSON.stringify itself: nothing a user could have written
        }
        expect(() => validateContract(doc)).not.toThrow();
        if (checkReader(text).ok) ok++;
        else refused++;
      }),
      { numRuns: 800, seed: 12 },
    );
    expect(performance.now() - t0).toBeLessThan(90_000); // the whole property, making the documents included
    expect(spent.ms).toBeLessThan(15_000); // the reader alone, over every document so far (about 2 s measured)
    // both outcomes happen: the mutations are neither all harmless nor all fatal
    expect(ok).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(200);
  });

  it('names what a newer minor adds without refusing it, whatever it adds', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: SEEDS.length - 1 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), value, { maxKeys: 5 }),
        fc.string({ minLength: 1, maxLength: 10 }),
        (seed, extra, role) => {
          const doc = structuredClone(SEEDS[seed]) as Contract & Record<string, unknown>;
          if (validateContract(doc).length) return; // start from a valid document
          doc.version = '1.42';
          for (const [k, v] of Object.entries(extra))
            Object.defineProperty(doc.model, k, { value: v, enumerable: true, configurable: true, writable: true });
          (doc.outputs as unknown[]).push({ name: 'new', role: `x_${role}`, shape: [1] });
          const r = checkReader(JSON.stringify(doc));
          const known = new Set(['id', 'name', 'task', 'role', 'family', 'methods', 'teachers', 'description']);
          if (Object.keys(extra).every((k) => !known.has(k))) {
            expect(r.ok).toBe(true);
            if (r.ok) expect(r.warnings.map((w) => w.code)).toContain('newer-version');
          }
        },
      ),
      { numRuns: 300, seed: 13 },
    );
  });
});
