/**
 * Contract-driven pre-processing (runs in the inference worker): an image → the model's input tensor, placed
 * as the contract says (stretch or letterbox, see analysis/geometry), with the placement the run carries.
 */

import { type Placement, placement } from '../analysis/geometry';
import type { ContractInput } from '../contract';

/**
 * RGBA pixels already resized to the model's input size (by canvas drawImage, as `placement` says) →
 * float tensor data in the contract's layout, colour order and normalisation.
 */
export function toTensor(rgba: Uint8ClampedArray, input: ContractInput): Float32Array {
  const nchw = input.layout === 'NCHW';
  const [h, w] = nchw ? [input.shape[2], input.shape[3]] : [input.shape[1], input.shape[2]];
  if (rgba.length !== w * h * 4)
    throw new Error(`expected ${w}x${h} RGBA pixels (${w * h * 4} bytes), got ${rgba.length}`);
  const out = new Float32Array(3 * w * h);
  const order = input.color === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    const mean = input.mean[c];
    const std = input.std[c];
    for (let i = 0; i < w * h; i++) {
      const v = (rgba[i * 4 + src] / input.scale - mean) / std;
      out[nchw ? c * w * h + i : i * 3 + c] = v;
    }
  }
  return out;
}

/** Draw the image into the model's input frame (letterbox fill around it), then normalise: the tensor and its placement. */
export function imageToInput(
  image: CanvasImageSource & { width: number; height: number },
  input: ContractInput,
): { data: Float32Array; dims: number[]; placement: Placement } {
  const p = placement(image.width, image.height, input);
  const canvas = new OffscreenCanvas(p.inputWidth, p.inputHeight);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const [r, g, b] = input.letterbox_fill ?? [114, 114, 114];
  ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
  ctx.fillRect(0, 0, p.inputWidth, p.inputHeight);
  ctx.drawImage(image, p.offsetX, p.offsetY, image.width * p.scaleX, image.height * p.scaleY);
  return {
    data: toTensor(ctx.getImageData(0, 0, p.inputWidth, p.inputHeight).data, input),
    dims: [...input.shape],
    placement: p,
  };
}
