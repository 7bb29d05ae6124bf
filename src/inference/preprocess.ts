/**
 * Contract-driven pre-processing: RGBA pixels → the model's input tensor, and the geometry that maps model
 * coordinates back onto the original image exactly (stretch or letterbox).
 */
import type { ContractInput } from '../contract';

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

export function placement(imageWidth: number, imageHeight: number, input: ContractInput): Placement {
  const [inputHeight, inputWidth] = input.layout === 'NCHW' ? [input.shape[2], input.shape[3]] : [input.shape[1], input.shape[2]];
  if (input.resize === 'stretch') {
    return { inputWidth, inputHeight, offsetX: 0, offsetY: 0, scaleX: inputWidth / imageWidth, scaleY: inputHeight / imageHeight };
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

/**
 * RGBA pixels already resized to the model's input size (by canvas drawImage, as `placement` says) →
 * float tensor data in the contract's layout, colour order and normalisation.
 */
export function toTensor(rgba: Uint8ClampedArray, input: ContractInput): Float32Array {
  const nchw = input.layout === 'NCHW';
  const [h, w] = nchw ? [input.shape[2], input.shape[3]] : [input.shape[1], input.shape[2]];
  if (rgba.length !== w * h * 4) throw new Error(`expected ${w}x${h} RGBA pixels (${w * h * 4} bytes), got ${rgba.length}`);
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
