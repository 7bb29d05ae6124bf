/**
 * Where an image lies inside a model's input (stretch or letterbox), and the maps between image pixels and
 * model-input pixels. Pure: computed once per run (in the worker) and carried by the run, so no view
 * recomputes it.
 */

export interface Placement {
  /** Model input size. */
  inputWidth: number;
  inputHeight: number;
  /** Where the image sits inside the input, in input pixels (letterbox pads around it). */
  offsetX: number;
  offsetY: number;
  scaleX: number; // input pixels per image pixel
  scaleY: number;
}

/** A map laid over a width×height image at `scale` map pixels per image pixel, from its corner (no padding). */
export const uniformPlacement = (width: number, height: number, scale = 1): Placement => ({
  inputWidth: width * scale,
  inputHeight: height * scale,
  offsetX: 0,
  offsetY: 0,
  scaleX: scale,
  scaleY: scale,
});

/** What placement needs of a contract's input: its size and resize rule. */
export interface InputFrame {
  shape: readonly number[];
  layout: 'NCHW' | 'NHWC';
  resize: 'stretch' | 'letterbox';
}

export const inputSize = (input: InputFrame): { width: number; height: number } =>
  input.layout === 'NCHW'
    ? { width: input.shape[3], height: input.shape[2] }
    : { width: input.shape[2], height: input.shape[1] };

export function placement(imageWidth: number, imageHeight: number, input: InputFrame): Placement {
  const { width: inputWidth, height: inputHeight } = inputSize(input);
  if (input.resize === 'stretch') {
    return {
      inputWidth,
      inputHeight,
      offsetX: 0,
      offsetY: 0,
      scaleX: inputWidth / imageWidth,
      scaleY: inputHeight / imageHeight,
    };
  }
  const s = Math.min(inputWidth / imageWidth, inputHeight / imageHeight);
  return {
    inputWidth,
    inputHeight,
    offsetX: (inputWidth - imageWidth * s) / 2,
    offsetY: (inputHeight - imageHeight * s) / 2,
    scaleX: s,
    scaleY: s,
  };
}

/** A point in model-input pixels → original-image pixels. */
export function toImage(p: Placement, x: number, y: number): [number, number] {
  return [(x - p.offsetX) / p.scaleX, (y - p.offsetY) / p.scaleY];
}

/** A point in original-image pixels → model-input pixels. */
export function toInput(p: Placement, x: number, y: number): [number, number] {
  return [x * p.scaleX + p.offsetX, y * p.scaleY + p.offsetY];
}

/** A box in model-input pixels → image pixels. */
export function boxToImage<B extends { x0: number; y0: number; x1: number; y1: number }>(p: Placement, b: B): B {
  const [x0, y0] = toImage(p, b.x0, b.y0);
  const [x1, y1] = toImage(p, b.x1, b.y1);
  return { ...b, x0, y0, x1, y1 };
}

/** A box in image pixels → model-input pixels. */
export function boxToInput<B extends { x0: number; y0: number; x1: number; y1: number }>(p: Placement, b: B): B {
  const [x0, y0] = toInput(p, b.x0, b.y0);
  const [x1, y1] = toInput(p, b.x1, b.y1);
  return { ...b, x0, y0, x1, y1 };
}

/**
 * Where the model-input frame lies over the image, in image pixels (letterbox padding reaches outside it): a map
 * at input resolution stretched over this rectangle lands on the right pixels.
 */
export const inputFrameInImage = (p: Placement) => ({
  x: -p.offsetX / p.scaleX,
  y: -p.offsetY / p.scaleY,
  width: p.inputWidth / p.scaleX,
  height: p.inputHeight / p.scaleY,
});

/**
 * Where the model-input frame lies over the image, in % of the image (CSS left/top/width/height): a map at
 * input resolution (a class map, an attention grid) drawn in this box lands on the right pixels, letterbox too.
 */
export function inputFrameOnImage(p: Placement, imageWidth: number, imageHeight: number) {
  const f = inputFrameInImage(p);
  return {
    left: `${((f.x / imageWidth) * 100).toFixed(4)}%`,
    top: `${((f.y / imageHeight) * 100).toFixed(4)}%`,
    width: `${((f.width / imageWidth) * 100).toFixed(4)}%`,
    height: `${((f.height / imageHeight) * 100).toFixed(4)}%`,
  };
}
