/**
 * Channel-only gates (contract 1.4 `channel_gate`: squeeze-and-excitation blocks, e.g. MobileNetV3 / LR-ASPP),
 * summarised so models of different widths compare: per site the share of channels in each tenth of [0, 1],
 * the mean gate, and the share nearly closed (< 0.1) or open (> 0.9). Pure.
 */

export interface GateSummary {
  channels: number;
  /** Share of channels whose gate falls in each of `bins` equal parts of [0, 1] (values outside are clamped). */
  histogram: number[];
  mean: number;
  closed: number;
  open: number;
  /** Channels whose gate is not a number (left out of the rest). */
  notNumbers: number;
}

export function summariseGate(values: ArrayLike<number>, bins = 10): GateSummary {
  const histogram = new Array<number>(bins).fill(0);
  let n = 0;
  let sum = 0;
  let closed = 0;
  let open = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    n++;
    sum += v;
    if (v < 0.1) closed++;
    if (v > 0.9) open++;
    histogram[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]++;
  }
  return {
    channels: values.length,
    histogram: histogram.map((c) => (n ? c / n : 0)),
    mean: n ? sum / n : Number.NaN,
    closed: n ? closed / n : Number.NaN,
    open: n ? open / n : Number.NaN,
    notNumbers: values.length - n,
  };
}
