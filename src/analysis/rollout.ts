/**
 * Attention rollout (Abnar & Zuidema 2020) over a ViT's full self-attention stack [L, H, T, T].
 * Per layer the heads are fused (mean, or one head), the residual is accounted for with the identity term
 * Â = ½A + ½I (rows still sum to 1), and the layers are multiplied: R = Â_l · … · Â_0. Only the CLS row of R
 * is needed for a map over patches, so it is computed as a row vector times each Â (O(l·T²), not O(l·T³)).
 */

export interface AttentionStack {
  data: Float32Array; // [L, H, T, T] row-major (batch 1 dropped)
  layers: number;
  heads: number;
  tokens: number;
}

export interface RolloutOptions {
  /** last layer included (0-based); layers 0..upTo are rolled out */
  upTo: number;
  /** add the identity (residual) term: Â = ½A + ½I */
  identity: boolean;
  /** fuse heads by their mean, or take one head */
  head: 'mean' | number;
  /** the query token whose row is returned (0 = CLS) */
  query?: number;
}

function checkStack(s: AttentionStack): void {
  const { layers, heads, tokens } = s;
  if (s.data.length !== layers * heads * tokens * tokens)
    throw new Error(`attention stack has ${s.data.length} values, expected ${layers}×${heads}×${tokens}×${tokens}`);
}

/** The `query` row (CLS by default) of the rolled-out attention R = Â_upTo · … · Â_0, over all T tokens. */
export function attentionRollout(s: AttentionStack, opts: RolloutOptions): Float32Array {
  checkStack(s);
  const t = s.tokens;
  if (opts.upTo < 0 || opts.upTo >= s.layers) throw new Error(`layer ${opts.upTo} is outside 0..${s.layers - 1}`);
  const hs = opts.head === 'mean' ? Array.from({ length: s.heads }, (_, h) => h) : [opts.head];
  if (opts.head !== 'mean' && (opts.head < 0 || opts.head >= s.heads))
    throw new Error(`head ${opts.head} is outside 0..${s.heads - 1}`);
  let v = new Float64Array(t);
  v[opts.query ?? 0] = 1;
  for (let l = opts.upTo; l >= 0; l--) {
    // v·Â without forming Â: v·(½·mean_h A_h + ½I) = ½·Σ_h (v·A_h)/H + ½·v
    const keep = opts.identity ? 0.5 : 1;
    const next = opts.identity ? v.map((x) => 0.5 * x) : new Float64Array(t);
    for (const h of hs) {
      const base = (l * s.heads + h) * t * t;
      for (let i = 0; i < t; i++) {
        const w = (keep * v[i]) / hs.length;
        if (w === 0) continue;
        const row = base + i * t;
        for (let j = 0; j < t; j++) next[j] += w * s.data[row + j];
      }
    }
    v = next;
  }
  return Float32Array.from(v);
}

/** The patch part of a token row when a CLS token leads: [T] → [T − 1]. */
export const patchesOf = (row: Float32Array, clsToken: boolean): Float32Array => (clsToken ? row.slice(1) : row);
