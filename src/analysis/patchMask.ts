/** A patch-grid mask (ViT pseudo-mask) → a mask over the original image's pixels. */
import type { Placement } from './geometry';

/**
 * Nearest upsampling of a row-major [rows, cols] patch mask to the image: each image pixel takes the patch its
 * centre falls in once mapped into model-input pixels (`placement`: stretch or letterbox). Pixels that land in
 * letterbox padding or outside the grid are 0. Returns a row-major 0/1 mask of imageWidth × imageHeight.
 */
export function patchMaskToImage(
  mask: ArrayLike<number>,
  grid: readonly [number, number],
  patch: number,
  imageWidth: number,
  imageHeight: number,
  place: Placement,
): Uint8Array {
  const [rows, cols] = grid;
  if (mask.length !== rows * cols)
    throw new RangeError(`patch mask has ${mask.length} values but grid ${rows}x${cols} needs ${rows * cols}`);
  const out = new Uint8Array(imageWidth * imageHeight);
  const colOf = new Int32Array(imageWidth);
  for (let x = 0; x < imageWidth; x++) {
    const c = Math.floor(((x + 0.5) * place.scaleX + place.offsetX) / patch);
    colOf[x] = c >= 0 && c < cols ? c : -1;
  }
  for (let y = 0; y < imageHeight; y++) {
    const r = Math.floor(((y + 0.5) * place.scaleY + place.offsetY) / patch);
    if (r < 0 || r >= rows) continue;
    for (let x = 0; x < imageWidth; x++) {
      const c = colOf[x];
      if (c >= 0 && mask[r * cols + c]) out[y * imageWidth + x] = 1;
    }
  }
  return out;
}
