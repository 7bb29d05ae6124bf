/** Drawing for the method views: heatmaps on canvas (viridis), bar charts in SVG with d3. */

import { color } from 'd3-color';
import { scaleBand, scaleLinear, scaleSequential } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { select } from 'd3-selection';
import { range } from '../analysis/attention';

/** The colour of a cell whose value is NaN or infinite: outside viridis, so it never reads as a value. */
export const NO_VALUE_RGB = [255, 0, 255] as const;

/**
 * A [h, w] map into a canvas of w×h cells, coloured over [lo, hi] (the caller shows the range); NaN and
 * infinite cells in NO_VALUE_RGB (the run's report says how many), never a colour of the scale.
 */
export function drawHeatmap(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  w: number,
  h: number,
  lo: number,
  hi: number,
): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  const [a, b] = Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, 1];
  const scale = scaleSequential(interpolateViridis).domain([a, b === a ? a + 1e-6 : b]);
  for (let i = 0; i < w * h; i++) {
    const v = values[i];
    const c = Number.isFinite(v) ? color(scale(v))?.rgb() : undefined;
    img.data.set(c ? [c.r, c.g, c.b, 255] : [...NO_VALUE_RGB, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}

/** A horizontal colour bar for a heatmap's legend. */
export function drawColorbar(canvas: HTMLCanvasElement): void {
  canvas.width = 64;
  canvas.height = 1;
  const ctx = canvas.getContext('2d')!;
  for (let x = 0; x < 64; x++) {
    ctx.fillStyle = interpolateViridis(x / 63);
    ctx.fillRect(x, 0, 1, 1);
  }
}

/** Bars of values in 0..1 with a label under each; <title> gives label and value on hover. */
export function drawBars(
  svg: SVGSVGElement,
  items: { label: string; value: number }[],
  width = 220,
  height = 90,
): void {
  const x = scaleBand<number>()
    .domain(items.map((_, i) => i))
    .range([0, width])
    .padding(0.15);
  const y = scaleLinear()
    .domain([0, 1])
    .range([height - 12, 0]);
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  const g = root
    .selectAll<SVGGElement, { label: string; value: number }>('g.bar')
    .data(items)
    .join((enter) => {
      const e = enter.append('g').attr('class', 'bar');
      e.append('rect').attr('fill', '#38bdf8');
      e.append('text').attr('font-size', 7).attr('fill', '#94a3b8').attr('text-anchor', 'middle');
      e.append('title');
      return e;
    });
  // A value that is not a number gets no bar (its <title> still says what it is).
  const at = (v: number) => y(Number.isFinite(v) ? v : 0);
  g.select('rect')
    .attr('x', (_, i) => x(i)!)
    .attr('width', x.bandwidth())
    .attr('y', (d) => at(d.value))
    .attr('height', (d) => y(0) - at(d.value));
  g.select('text')
    .attr('x', (_, i) => x(i)! + x.bandwidth() / 2)
    .attr('y', height - 2)
    .text((d) => d.label);
  g.select('title').text((d) => `${d.label}: ${d.value.toFixed(3)}`);
}

/** A [rows, cols] 0/1 patch mask into a canvas of rows×cols cells: kept patches tinted clear, the rest dimmed. */
export function drawPatchMask(canvas: HTMLCanvasElement, mask: Uint8Array, grid: readonly [number, number]): void {
  canvas.width = grid[1];
  canvas.height = grid[0];
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(grid[1], grid[0]);
  mask.forEach((m, i) => {
    img.data.set(m ? [56, 189, 248, 110] : [0, 0, 0, 170], i * 4);
  });
  ctx.putImageData(img, 0, 0);
}

/** A grid map in viridis with the masked cells tinted white and one cell (a clicked token) marked red. */
export function drawGridWithMask(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  grid: readonly [number, number],
  mask: Uint8Array,
  cell: number | null,
): void {
  const [lo, hi] = range(values);
  drawHeatmap(canvas, values, grid[1], grid[0], lo, hi);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = 'rgba(255,255,255,0.35)';
  mask.forEach((m, i) => {
    if (m) ctx.fillRect(i % grid[1], Math.floor(i / grid[1]), 1, 1);
  });
  if (cell !== null) {
    ctx.fillStyle = '#f43f5e';
    ctx.fillRect(cell % grid[1], Math.floor(cell / grid[1]), 1, 1);
  }
}

/** Outline cells of a [rows, cols] map (e.g. the assigned query × object pairs of a cost matrix). */
export function drawCellMarks(
  svg: SVGSVGElement,
  marks: readonly (readonly [number, number])[],
  grid: readonly [number, number],
): void {
  const root = select(svg).attr('viewBox', `0 0 ${grid[1]} ${grid[0]}`);
  root
    .selectAll('rect')
    .data(marks)
    .join('rect')
    .attr('class', 'mark')
    .attr('data-row', ([r]) => r)
    .attr('data-col', ([, c]) => c)
    .attr('x', ([, c]) => c + 0.08)
    .attr('y', ([r]) => r + 0.08)
    .attr('width', 0.84)
    .attr('height', 0.84)
    .attr('fill', 'none')
    .attr('stroke', '#f43f5e')
    .attr('stroke-width', 0.16);
}
