import { sha256 } from '../inference/sha256';

/**
 * A contract's identity in a results file: SHA-256 of its canonical JSON — keys sorted, no spaces, numbers as
 * JavaScript writes them. ml/attnlens_ml/results.py canonical_json writes the same bytes, so the app and the
 * command line give a model the same hash.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function contractHash(contract: unknown): Promise<string> {
  const digest = await sha256(new TextEncoder().encode(canonicalJson(contract)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}
