/** Boxes for tests: a 10×10 detection whose left edge is at x, on the top row. */
import type { Detection } from './boxes';

export const boxAt = (x: number, classId = 1, score = 0.9, query = 0): Detection => ({
  x0: x,
  y0: 0,
  x1: x + 10,
  y1: 10,
  classId,
  score,
  query,
});
