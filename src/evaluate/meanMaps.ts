/**
 * Mean attention and gate maps per model over a data set (pure accumulation): each CBAM site's spatial gate,
 * and the last layer's head-mean CLS attention over patches — the maps a method acts on, averaged image by image
 * at the model's own grid (so a map whose grid changes between runs is left out of that run).
 */
import type { Contract } from '../contract';
import type { Run } from '../state/runs';

export interface MeanMap {
  model: string;
  output: string;
  what: string;
  grid: [number, number];
  /** Images averaged. */
  n: number;
  values: number[];
}

/** The maps of one run: [output, what, grid, values]. */
function mapsOf(contract: Contract, run: Run): [string, string, [number, number], Float32Array][] {
  const out: [string, string, [number, number], Float32Array][] = [];
  for (const o of contract.outputs) {
    const t = run.outputs[o.name];
    if (!t) continue;
    if (o.role === 'cbam_spatial_gate' && t.dims.length === 4) {
      const [, , h, w] = t.dims;
      out.push([o.name, `spatial gate at ${o.site ?? o.name}`, [h, w], t.data.subarray(0, h * w)]);
    } else if (o.role === 'cls_attention' && o.keys === 'patches' && o.grid && t.dims.length === 4) {
      const [, layers, heads, keys] = t.dims;
      if (keys !== o.grid[0] * o.grid[1]) continue;
      const last = t.data.subarray((layers - 1) * heads * keys, layers * heads * keys);
      const mean = new Float32Array(keys);
      for (let h = 0; h < heads; h++) for (let k = 0; k < keys; k++) mean[k] += last[h * keys + k] / heads;
      out.push([o.name, `CLS attention, last layer, head mean`, [o.grid[0], o.grid[1]], mean]);
    }
  }
  return out;
}

export class MeanMaps {
  private sums = new Map<
    string,
    { model: string; output: string; what: string; grid: [number, number]; n: number; sum: Float64Array }
  >();

  add(model: string, contract: Contract, run: Run): void {
    for (const [output, what, grid, values] of mapsOf(contract, run)) {
      const key = `${model}\u0000${output}`;
      let s = this.sums.get(key);
      if (!s) {
        s = { model, output, what, grid, n: 0, sum: new Float64Array(values.length) };
        this.sums.set(key, s);
      }
      if (s.sum.length !== values.length || values.some((v) => !Number.isFinite(v))) continue;
      for (let i = 0; i < values.length; i++) s.sum[i] += values[i];
      s.n++;
    }
  }

  /** Means rounded to 6 significant digits (the file stays small; a gate is in [0, 1]). */
  maps(): MeanMap[] {
    return [...this.sums.values()]
      .filter((s) => s.n > 0)
      .map(({ model, output, what, grid, n, sum }) => ({
        model,
        output,
        what,
        grid,
        n,
        values: Array.from(sum, (v) => Number((v / n).toPrecision(6))),
      }));
  }
}
