/**
 * IEEE 754 half precision ↔ float32, for models whose contract says `input.dtype: "float16"` (fed as float16
 * bits) and for float16 outputs (widened to float32, what every view reads). onnxruntime-web takes a
 * Uint16Array of bits for a 'float16' tensor and returns a Uint16Array (or a Float16Array where the browser
 * has one).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to a number (round half to even; overflow → ±Infinity, NaN stays NaN). */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is still right
  return sign | half;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** float32 tensor data → float16 bits, for a 'float16' input tensor. */
export function toFloat16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i]);
  return out;
}

/** A tensor's data as float32: float16 bits (Uint16Array) or a Float16Array widened; float32 as it is. */
export function toFloat32(data: unknown, type: string): Float32Array {
  if (type === 'float32') return data as Float32Array;
  if (type !== 'float16') throw new Error(`AttnLens reads float32 or float16 outputs, got ${type}`);
  if (data instanceof Uint16Array) {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = fromHalfBits(data[i]);
    return out;
  }
  return Float32Array.from(data as ArrayLike<number>);
}
