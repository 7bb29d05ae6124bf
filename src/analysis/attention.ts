/** Attention math for the method views (pure): CBAM/AttnFD site comparison. */

/** AttnFD's per-site term ‖t/‖t‖ − s/‖s‖‖² (= 2 − 2·cos, in [0, 4]) and the cosine, over equal-length maps. */
export function attnfdDistance(t: Float32Array, s: Float32Array): { distance: number; cosine: number } {
  if (t.length !== s.length) throw new Error(`maps differ in size (${t.length} vs ${s.length}): compare at equal width`);
  let tt = 0;
  let ss = 0;
  let ts = 0;
  for (let i = 0; i < t.length; i++) {
    tt += t[i] * t[i];
    ss += s[i] * s[i];
    ts += t[i] * s[i];
  }
  const cosine = tt > 0 && ss > 0 ? ts / Math.sqrt(tt * ss) : 0;
  return { distance: 2 - 2 * cosine, cosine };
}

/** Width-free summary of a refined map [C, h, w]: mean over channels of x² → [h, w] (attention-transfer style). */
export function energyMap(refined: Float32Array, channels: number): Float32Array {
  const n = refined.length / channels;
  const out = new Float32Array(n);
  for (let c = 0; c < channels; c++) for (let i = 0; i < n; i++) out[i] += (refined[c * n + i] ** 2) / channels;
  return out;
}

/** The k largest channel-gate values, largest first, with their channel indices. */
export function topChannels(gate: Float32Array, k: number): { channel: number; value: number }[] {
  return Array.from(gate, (value, channel) => ({ channel, value }))
    .sort((a, b) => b.value - a.value || a.channel - b.channel)
    .slice(0, k);
}

export function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
