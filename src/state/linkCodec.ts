/**
 * Typed link parameters: a key in the URL fragment, how its value is written and read, and what it must be
 * (in words, for the message when a link carries something else). Each method declares its own; the view
 * codec is built from them (TensorBoard's per-feature deep links).
 */

export interface Codec<T> {
  encode(value: T): string;
  /** The value, or undefined when `raw` is not one. */
  decode(raw: string): T | undefined;
  /** What a valid value is, for the user ("a number between 0 and 1"). */
  expected: string;
}

/** One parameter: its key in the link, the settings field it carries, its name in words ("ViT map"), its codec. */
export type LinkParam<S> = {
  [K in keyof S & string]: { key: string; field: K; label: string; codec: Codec<S[K]> };
}[keyof S & string];

/** A settings slice: its defaults and its link parameters (defaults stay out of the link). */
export interface LinkSlice<S extends object> {
  defaults: S;
  params: LinkParam<S>[];
}

const short = (v: number) => String(+v.toFixed(3));

/** 1,024: counts as people read them, whatever the browser's locale. */
export const count = (n: number) => n.toLocaleString('en-US');

/** A value from the link, quoted for a message: at most 40 characters of it, and its length when cut. */
export function quote(raw: string): string {
  return raw.length <= 40 ? `"${raw}"` : `"${raw.slice(0, 40)}…" (${count(raw.length)} characters)`;
}

/** A few of many values, quoted, for a message: "a", "b", "c" and 97 more. */
export function sample(values: string[], max = 5): string {
  const shown = values.slice(0, max).map(quote).join(', ');
  return values.length > max ? `${shown} and ${count(values.length - max)} more` : shown;
}

export const unitNumber: Codec<number> = {
  encode: (v) => v.toFixed(2),
  decode: (raw) => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
  },
  expected: 'a number between 0 and 1',
};

export const intIn = (lo: number, hi: number): Codec<number> => ({
  encode: (v) => String(v),
  decode: (raw) => (/^-?\d{1,6}$/.test(raw) && Number(raw) >= lo && Number(raw) <= hi ? Number(raw) : undefined),
  expected: `a whole number from ${lo} to ${hi}`,
});

export const oneOf = <T extends string>(allowed: readonly T[]): Codec<T> => ({
  encode: (v) => v,
  decode: (raw) => ((allowed as readonly string[]).includes(raw) ? (raw as T) : undefined),
  expected: allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(', ')}`,
});

export const flag: Codec<boolean> = {
  encode: (v) => (v ? '1' : '0'),
  decode: (raw) => (raw === '1' ? true : raw === '0' ? false : undefined),
  expected: '0 or 1',
};

/** A fixed-length list of numbers, each within [lo, hi]. */
export const numbers = (count: number, lo: number, hi: number, what: string): Codec<number[]> => ({
  encode: (v) => v.map(short).join(','),
  decode: (raw) => {
    const n = raw.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    return n.length === count && n.every((x) => Number.isFinite(x) && x >= lo && x <= hi) ? n : undefined;
  },
  expected: what,
});

/** Add a param's value to the link unless it is the default. */
export function encodeSlice<S extends object>(slice: LinkSlice<S>, value: S, out: URLSearchParams): void {
  for (const p of slice.params) {
    const codec = p.codec as Codec<unknown>;
    const encoded = codec.encode(value[p.field]);
    if (encoded !== codec.encode(slice.defaults[p.field])) out.set(p.key, encoded);
  }
}

/** Read a slice from the link over `base`; each unusable value keeps the base value and is reported. */
export function decodeSlice<S extends object>(
  slice: LinkSlice<S>,
  base: S,
  params: URLSearchParams,
  problems: string[],
): S {
  const out = { ...base };
  for (const p of slice.params) {
    const raw = params.get(p.key);
    if (raw === null) continue;
    const v = raw.length <= 200 ? p.codec.decode(raw) : undefined;
    if (v === undefined) problems.push(`the link's ${p.label} ${quote(raw)} is not ${p.codec.expected}`);
    else (out as Record<string, unknown>)[p.field] = v;
  }
  return out;
}
