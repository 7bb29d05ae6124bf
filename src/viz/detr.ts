/** Drawing for the DETR views (d3, SVG in image pixels): ground-truth boxes and the draft being dragged, a query's box. */
import { select } from 'd3-selection';
import type { Box } from '../analysis/boxes';
import type { GtObject } from '../analysis/groundTruth';
import type { ContractClass } from '../contract';

/**
 * Ground-truth boxes in an SVG whose viewBox is the width×height image: solid and numbered when `drawn` (the
 * user's own, editable), dashed otherwise; plus the draft box while dragging.
 */
export function drawGroundTruth(
  svg: SVGSVGElement,
  objects: GtObject[],
  classes: ContractClass[],
  width: number,
  height: number,
  drawn: boolean,
  draft: Box | null,
): void {
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  const stroke = Math.max(0.6, width / 200);
  const g = root
    .selectAll<SVGGElement, GtObject>('g.gt')
    .data(objects)
    .join((enter) => {
      const e = enter.append('g').attr('class', 'gt');
      e.append('rect').attr('fill', 'none');
      e.append('text').attr('dy', '-0.2em');
      return e;
    });
  g.attr('data-class', (d) => d.classId);
  g.select('rect')
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('width', (d) => d.x1 - d.x0)
    .attr('height', (d) => d.y1 - d.y0)
    .attr('stroke', (d) => classes.find((c) => c.id === d.classId)?.color ?? '#fff')
    .attr('stroke-width', stroke)
    .attr('stroke-dasharray', drawn ? null : `${2 * stroke} ${2 * stroke}`);
  g.select('text')
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('font-size', Math.max(6, width / 30))
    .attr('fill', (d) => classes.find((c) => c.id === d.classId)?.color ?? '#fff')
    .text((d, i) => `${drawn ? `#${i + 1} ` : ''}${classes.find((c) => c.id === d.classId)?.name ?? d.classId}`);
  root
    .selectAll<SVGRectElement, Box>('rect.draft')
    .data(draft ? [draft] : [])
    .join((enter) =>
      enter.append('rect').attr('class', 'draft').attr('fill', 'rgba(56,189,248,0.15)').attr('stroke', '#38bdf8'),
    )
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('width', (d) => d.x1 - d.x0)
    .attr('height', (d) => d.y1 - d.y0)
    .attr('stroke-width', stroke);
}

/** One query's predicted box with a label, in an SVG whose viewBox is the width×height image. */
export function drawQueryBox(
  svg: SVGSVGElement,
  box: Box | null,
  label: string,
  colour: string,
  width: number,
  height: number,
): void {
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  const g = root
    .selectAll<SVGGElement, Box>('g.query')
    .data(box ? [box] : [])
    .join((enter) => {
      const e = enter.append('g').attr('class', 'query');
      e.append('rect').attr('fill', 'none');
      e.append('text').attr('dy', '-0.2em');
      return e;
    });
  g.select('rect')
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('width', (d) => d.x1 - d.x0)
    .attr('height', (d) => d.y1 - d.y0)
    .attr('stroke', colour)
    .attr('stroke-width', Math.max(1, width / 160));
  g.select('text')
    .attr('x', (d) => d.x0)
    .attr('y', (d) => d.y0)
    .attr('font-size', Math.max(6, width / 30))
    .attr('fill', colour)
    .text(label);
}

/**
 * An assignment in an SVG whose viewBox is the width×height image: ground-truth boxes dashed white, each link
 * from an object's centre to its query's predicted box (in the object's class colour), the selected query thicker.
 */
export function drawAssignment(
  svg: SVGSVGElement,
  a: { objects: GtObject[]; pairs: [number, number][]; predicted: Map<number, Box> },
  classes: ContractClass[],
  width: number,
  height: number,
  selected: number | null,
): void {
  const root = select(svg).attr('viewBox', `0 0 ${width} ${height}`);
  root.selectAll('*').remove();
  const stroke = Math.max(0.6, width / 250);
  const centre = (b: Box) => [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2];
  for (const g of a.objects) {
    root
      .append('rect')
      .attr('class', 'gt')
      .attr('x', g.x0)
      .attr('y', g.y0)
      .attr('width', g.x1 - g.x0)
      .attr('height', g.y1 - g.y0)
      .attr('fill', 'none')
      .attr('stroke', '#fff')
      .attr('stroke-dasharray', `${2 * stroke} ${2 * stroke}`)
      .attr('stroke-width', stroke);
  }
  for (const [query, obj] of a.pairs) {
    const b = a.predicted.get(query);
    if (!b) continue; // its box is not a number (NaN or infinite): nothing to draw, the view's note says so
    const g = a.objects[obj];
    const colour = classes.find((c) => c.id === g.classId)?.color ?? '#38bdf8';
    const [gx, gy] = centre(g);
    const [px, py] = centre(b);
    root
      .append('line')
      .attr('class', 'link')
      .attr('x1', gx)
      .attr('y1', gy)
      .attr('x2', px)
      .attr('y2', py)
      .attr('stroke', colour)
      .attr('stroke-width', stroke);
    root
      .append('rect')
      .attr('class', 'pred')
      .attr('data-query', query)
      .attr('data-selected', query === selected ? 'true' : null)
      .attr('x', b.x0)
      .attr('y', b.y0)
      .attr('width', b.x1 - b.x0)
      .attr('height', b.y1 - b.y0)
      .attr('fill', 'none')
      .attr('stroke', colour)
      .attr('stroke-width', query === selected ? 3 * stroke : stroke);
  }
}
