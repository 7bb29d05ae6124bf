/** The zoo models run natively (onnxruntime-node) on a gallery sample: what the page's numbers must equal. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { GtObject } from '../../src/analysis/groundTruth';
import { type Contract, loadContract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import type { TensorPayload } from '../../src/inference/protocol';
import { root } from './browser';

export async function runNative(
  modelId: string,
  sample: string,
): Promise<{ contract: Contract; outputs: Record<string, TensorPayload>; width: number; height: number }> {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models', `${modelId}.onnx`)));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++)
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
  if (png.width !== contract.input.shape[3] || png.height !== contract.input.shape[2])
    throw new Error('sample is not at the model input size');
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    [contract.input.name]: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape),
  });
  const outputs: Record<string, TensorPayload> = {};
  for (const [name, t] of Object.entries(out)) outputs[name] = { data: t.data as Float32Array, dims: [...t.dims] };
  return { contract, outputs, width: png.width, height: png.height };
}

/** The gallery COCO's objects on a sample, pixel corners. */
export function galleryGt(sample: string): GtObject[] {
  const coco = JSON.parse(readFileSync(join(root, 'public/samples/coco.json'), 'utf8'));
  const id = coco.images.find((i: { file_name: string }) => i.file_name === sample).id;
  return coco.annotations
    .filter((a: { image_id: number }) => a.image_id === id)
    .map(({ bbox: [x, y, w, h], category_id }: { bbox: number[]; category_id: number }) => ({
      classId: category_id,
      x0: x,
      y0: y,
      x1: x + w,
      y1: y + h,
    }));
}

/** A gallery sample mirrored left-right, as PNG bytes: an image of the same kind that no gallery entry has. */
export function mirroredSample(sample: string): Buffer {
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const out = new Uint8Array(png.width * png.height * 4);
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const from = y * png.width + (png.width - 1 - x);
      for (let c = 0; c < 3; c++) out[(y * png.width + x) * 4 + c] = png.data[from * png.channels + c];
      out[(y * png.width + x) * 4 + 3] = 255;
    }
  }
  return Buffer.from(encode({ width: png.width, height: png.height, data: out, channels: 4 }));
}
