/** Drawing: class maps on canvas (dense), detection boxes in SVG (d3). No metrics are computed here. */
import { color } from 'd3-color';
import { select } from 'd3-selection';
import type { Detection } from '../analysis/boxes';
import type { ContractClass } from '../contract';
import { NO_VALUE_RGB } from './attention';

/** A class map's RGBA pixels (one id per pixel): class colours at `opacity`, background left clear. */
export function classMapPixels(
  classMap: Uint8Array,
  classes: ContractClass[],
  opacity: number,
  backgroundId = 0,
): Uint8ClampedArray<ArrayBuffer> {
  const data = new Uint8ClampedArray(classMap.length * 4);
  const rgb = classes.map((c) => color(c.color)!.rgb());
  const alpha = Math.round(255 * opacity);
  for (let i = 0; i < classMap.length; i++) {
    const k = classMap[i];
    if (k === backgroundId) continue;
    // NO_CLASS (NaN logits) and ids the contract has no colour for: the no-value colour, fully opaque.
    const c = rgb[k];
    data[i * 4] = c ? c.r : NO_VALUE_RGB[0];
    data[i * 4 + 1] = c ? c.g : NO_VALUE_RGB[1];
    data[i * 4 + 2] = c ? c.b : NO_VALUE_RGB[2];
    data[i * 4 + 3] = c ? alpha : 255;
  }
  return data;
}

/** Paint a class map (one id per pixel, width×height) into a canvas of the same size; background left clear. */
export function drawClassMap(
  canvas: HTMLCanvasElement | OffscreenCanvas,
  classMap: Uint8Array,
  width: number,
  height: number,
  classes: ContractClass[],
  opacity: number,
  backgroundId = 0,
): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
  ctx.putImageData(new ImageData(classMapPixels(classMap, classes, opacity, backgroundId), width, height), 0, 0);
}

/**
 * Boxes with class-coloured outlines and "name score" labels, in an SVG whose viewBox is the image frame; the
 * `selected` query's box drawn thicker.
 */
export function drawBoxes(
  svg: SVGSVGElement,
  detections: Detection[],
  classes: ContractClass[],
  width: number,
  height: number,
  selected?: number,
): void {
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  const g = root
    .selectAll<SVGGElement, Detection>('g.det')
    .data(detections, (d) => String(d.query))
    .join((enter) => {
      const e = enter.append('g').attr('class', 'det');
      e.append('rect')
        .attr('fill', 'none')
        .attr('stroke-width', Math.max(1, width / 200));
      e.append('text')
        .attr('font-size', Math.max(6, width / 30))
        .attr('dy', '-0.2em');
      return e;
    });
  g.attr('data-class', (d) => d.classId)
    .attr('data-query', (d) => d.query)
    .attr('data-score', (d) => d.score)
    .attr('data-selected', (d) => (d.query === selected ? 'true' : null));
  g.select('rect')
    .attr('stroke-width', (d) => Math.max(1, width / 200) * (d.query === selected ? 2.5 : 1))
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('width', (d) => d.x1 - d.x0)
    .attr('height', (d) => d.y1 - d.y0)
    .attr('stroke', (d) => classes[d.classId]?.color ?? '#fff');
  g.select('text')
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('fill', (d) => classes[d.classId]?.color ?? '#fff')
    .text((d) => `${classes[d.classId]?.name ?? d.classId} ${(d.score * 100).toFixed(0)}`);
}

/** A disagreement map (src/app/disagreement.ts): differing cells in red, the rest clear. */
export function drawDisagreementMap(canvas: HTMLCanvasElement, map: Uint8Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < map.length; i++) {
    if (map[i] !== 1) continue; // DIFFER
    img.data[i * 4] = 255;
    img.data[i * 4 + 1] = 40;
    img.data[i * 4 + 2] = 40;
    img.data[i * 4 + 3] = 200;
  }
  ctx.putImageData(img, 0, 0);
}

/** Boxes only the reference has (red, dashed) and only the other model has (amber), in image coordinates. */
export function drawDisagreementBoxes(
  svg: SVGSVGElement,
  onlyReference: Detection[],
  onlyModel: Detection[],
  width: number,
  height: number,
): void {
  const all = [
    ...onlyReference.map((d) => ({ d, side: 'reference' })),
    ...onlyModel.map((d) => ({ d, side: 'model' })),
  ];
  select(svg)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .selectAll('rect')
    .data(all)
    .join('rect')
    .attr('data-side', (b) => b.side)
    .attr('x', (b) => b.d.x0)
    .attr('y', (b) => b.d.y0)
    .attr('width', (b) => b.d.x1 - b.d.x0)
    .attr('height', (b) => b.d.y1 - b.d.y0)
    .attr('fill', 'none')
    .attr('stroke', (b) => (b.side === 'reference' ? '#ff3030' : '#ffb020'))
    .attr('stroke-dasharray', (b) => (b.side === 'reference' ? `${width / 60}` : null))
    .attr('stroke-width', Math.max(1, width / 150));
}
