/** Drawing for the saliency view: a map over the photo (canvas, viridis through a table), its score curves (d3, SVG). */
import { rgb } from 'd3-color';
import { scaleLinear } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { select } from 'd3-selection';
import { line } from 'd3-shape';
import { NO_VALUE_RGB } from './attention';

/** Viridis in 256 steps: a map of 640×640 values is coloured in a few milliseconds (no colour parsing per cell). */
const VIRIDIS = (() => {
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = rgb(interpolateViridis(i / 255));
    table.set([c.r, c.g, c.b], i * 3);
  }
  return table;
})();

/**
 * A [h, w] map into a canvas of w×h cells over [lo, hi], each cell's opacity growing with its value (up to
 * `opacity`), so the photo shows through where the model does not look; values below lo are transparent, NaN
 * and infinite cells opaque in NO_VALUE_RGB.
 */
export function drawSaliencyMap(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  w: number,
  h: number,
  lo: number,
  hi: number,
  opacity: number,
): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < w * h; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      img.data.set([...NO_VALUE_RGB, 255], i * 4);
      continue;
    }
    const t = Math.min(1, Math.max(0, (v - lo) / span));
    const k = Math.round(t * 255) * 3;
    img.data[i * 4] = VIRIDIS[k];
    img.data[i * 4 + 1] = VIRIDIS[k + 1];
    img.data[i * 4 + 2] = VIRIDIS[k + 2];
    img.data[i * 4 + 3] = Math.round(255 * opacity * Math.sqrt(t));
  }
  ctx.putImageData(img, 0, 0);
}

/** The map's maximum (a ring) and ground-truth regions (dashed boxes) in an SVG whose viewBox is the width×height image. */
export function drawSaliencyMarks(
  svg: SVGSVGElement,
  width: number,
  height: number,
  peak: { x: number; y: number } | null,
  regions: { x0: number; y0: number; x1: number; y1: number }[],
): void {
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  const stroke = Math.max(0.6, width / 200);
  root
    .selectAll('rect.truth')
    .data(regions)
    .join('rect')
    .attr('class', 'truth')
    .attr('fill', 'none')
    .attr('stroke', '#f8fafc')
    .attr('stroke-width', stroke)
    .attr('stroke-dasharray', `${2 * stroke} ${2 * stroke}`)
    .attr('x', (r) => r.x0)
    .attr('y', (r) => r.y0)
    .attr('width', (r) => r.x1 - r.x0)
    .attr('height', (r) => r.y1 - r.y0);
  root
    .selectAll('circle.peak')
    .data(peak ? [peak] : [])
    .join('circle')
    .attr('class', 'peak')
    .attr('fill', 'none')
    .attr('stroke', '#f43f5e')
    .attr('stroke-width', 1.5 * stroke)
    .attr('r', Math.max(2, width / 40))
    .attr('cx', (p) => p.x)
    .attr('cy', (p) => p.y);
}

/**
 * Deletion (falling, red) and insertion (rising, blue) score curves over the fraction of pixels (x in [0, 1]),
 * y from 0 to the curves' highest score (a class covering 2 % of the image scores 0.02 at best).
 */
export function drawScoreCurves(
  svg: SVGSVGElement,
  deletion: readonly number[],
  insertion: readonly number[],
  width = 160,
  height = 60,
): void {
  const top = Math.max(1e-9, ...[...deletion, ...insertion].filter(Number.isFinite));
  const x = scaleLinear()
    .domain([0, 1])
    .range([2, width - 2]);
  const y = scaleLinear()
    .domain([0, top])
    .range([height - 2, 2]);
  const path = (ys: readonly number[]) =>
    line<number>()
      .defined(Number.isFinite)
      .x((_, i) => x(i / Math.max(1, ys.length - 1)))
      .y((v) => y(v))(ys as number[]) ?? '';
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  root
    .selectAll('rect.frame')
    .data([0])
    .join('rect')
    .attr('class', 'frame')
    .attr('x', 0.5)
    .attr('y', 0.5)
    .attr('width', width - 1)
    .attr('height', height - 1)
    .attr('fill', 'none')
    .attr('stroke', '#334155');
  root
    .selectAll('path.curve')
    .data([
      { name: 'deletion', ys: deletion, colour: '#f87171' },
      { name: 'insertion', ys: insertion, colour: '#38bdf8' },
    ])
    .join('path')
    .attr('class', (d) => `curve ${d.name}`)
    .attr('fill', 'none')
    .attr('stroke', (d) => d.colour)
    .attr('stroke-width', 1.5)
    .attr('d', (d) => path(d.ys));
}
