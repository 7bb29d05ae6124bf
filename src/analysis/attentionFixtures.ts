/** Seeded random row-stochastic attention stacks [L, H, T, T] for the rollout tests (no Math.random: reproducible). */
export function randomAttentionStack(
  layers: number,
  heads: number,
  tokens: number,
  seed = 1,
  sharpness = 3,
): { data: Float32Array; layers: number; heads: number; tokens: number } {
  let x = seed;
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const data = new Float32Array(layers * heads * tokens * tokens);
  for (let r = 0; r < layers * heads * tokens; r++) {
    let sum = 0;
    for (let j = 0; j < tokens; j++) sum += data[r * tokens + j] = Math.exp(sharpness * rand());
    for (let j = 0; j < tokens; j++) data[r * tokens + j] /= sum;
  }
  return { data, layers, heads, tokens };
}
