/**
 * The one translation from onnxruntime failures to what the user reads: the file's name, the cause in their
 * terms, and the fix. onnxruntime's own text (C++ paths, ERROR_CODE, …) is never the message; it travels as
 * `detail`, shown folded under the message ("technical detail").
 *
 * The patterns are onnxruntime-web 1.30's real messages, captured by loading tests/fixtures/corpus (made by
 * ml/scripts/make_bad_models.py) — see errors.test.ts; the facts read from the model's bytes (onnxFacts)
 * fill in what the runtime leaves out (which node, which file).
 */
import { type OnnxFacts, onnxOpset } from './onnxFacts';

/** What onnxruntime-web 1.30 reads, measured: "Current official support for domain ai.onnx is till opset 26",
 * "max supported IR version: 13". */
export const RUNTIME = { name: 'onnxruntime-web 1.30', maxOpset: 26, maxIrVersion: 13 } as const;

/** A failure worded for the user, with the runtime's own text kept for the "technical detail" fold. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The technical detail an error carries, if any. */
export const detailOf = (e: unknown): string | undefined => (e instanceof UserFacingError ? e.detail : undefined);

const EXPORT_HINT = `export it again with opset ${RUNTIME.maxOpset} or lower (torch.onnx.export(…, opset_version=17) is a safe choice)`;

/** "Name:'bad_reshape'" in a run failure, else the graph's only node of that operator. */
function nodeOf(raw: string, opType: string, facts: OnnxFacts | null): string {
  const named = /running (\w+) node\. Name:'([^']*)'/.exec(raw);
  if (named) return `its ${named[1]} node '${named[2]}'`;
  const nodes = facts?.nodesByOp[opType] ?? [];
  if (nodes.length === 1) return nodes[0] ? `its ${opType} node '${nodes[0]}'` : `its ${opType} node`;
  return nodes.length ? `one of its ${nodes.length} ${opType} nodes` : `a ${opType} node`;
}

/** onnxruntime's C++ type names → the names the contract and onnxruntime-web use. */
const ORT_TYPE_NAMES: Record<string, string> = { float: 'float32', double: 'float64' };

const braces = (dims: string) => `[${dims.split(',').join(', ')}]`;

const customOpMessage = (file: string, ops: { domain: string; opType: string }[]) =>
  `${file} uses the custom operator${ops.length > 1 ? 's' : ''} ${ops.map((o) => `${o.opType} (domain ${o.domain})`).join(', ')}, which the browser runtime (${RUNTIME.name}) does not have: it runs the standard ONNX operators, opsets up to ${RUNTIME.maxOpset}. Export the model without custom operators (replace them by standard ONNX ones).`;
const irMessage = (file: string, ir: number | string, max: number | string) =>
  `${file} is ONNX IR version ${ir}, newer than the browser runtime (${RUNTIME.name}) reads (up to IR ${max}): save it with an older onnx package, or ${EXPORT_HINT}.`;
const opsetMessage = (file: string, opset: number | string, max: number | string) =>
  `${file} imports ONNX opset ${opset}; the browser runtime (${RUNTIME.name}) reads opsets up to ${max}: ${EXPORT_HINT}.`;
/** Also used before any runtime is asked, when the files dropped lack one the model names. */
export const externalDataMessage = (file: string, data: string[]) =>
  `${file} keeps its weights in a separate file (${data.join(', ')}) that was not given with it: drop ${file} and ${data.join(' and ')} together (select both files).`;

const bytesText = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GB` : `${Math.ceil(n / 2 ** 20)} MB`);

/** The runtime's WebAssembly memory could not hold the model (wasm32: 4 GB for weights and working memory). */
const ALLOCATION = /failed to allocate a buffer of size|Array buffer allocation failed|out of memory|bad_alloc/i;

/**
 * The browser could not read a dropped file's bytes into memory (or the file went away), worded; null for
 * any other failure. `size` is the file's size in bytes, when known.
 */
export function explainReadFailure(file: string, size: number | undefined, e: unknown): string | null {
  const name = (e as { name?: string } | null)?.name;
  const message = String((e as Error | null)?.message ?? e);
  if (name === 'RangeError' || ALLOCATION.test(message))
    return `${file}${size ? ` (${bytesText(size)})` : ''} is too large for this tab's memory: the browser could not make room for it. Close other tabs, or use a smaller model (float16 weights halve it).`;
  if (name === 'NotReadableError' || name === 'NotFoundError')
    return `${file} could not be read (it was moved, changed or deleted after it was picked): drop it again.`;
  return null;
}

/**
 * Why creating a session failed, for the user. `file` is the model's file name (or the zoo id), `raw` the
 * runtime's text, `facts` what its bytes say (null when unreadable). The runtime's text decides first; the
 * facts name what it leaves out, and stand in when its text is one this table does not know.
 */
export function explainLoadFailure(file: string, raw: string, facts: OnnxFacts | null): string {
  const custom = /([\w.]*):(\w+)\(-?\d+\) is not a registered function\/op/.exec(raw);
  if (custom)
    return customOpMessage(
      file,
      facts?.customOps.length ? facts.customOps : [{ domain: custom[1], opType: custom[2] }],
    );
  const ir = /Unsupported model IR version: (\d+), max supported IR version: (\d+)/.exec(raw);
  if (ir) return irMessage(file, ir[1], ir[2]);
  const opset = /Opset (\d+) is under development.*?domain \S+ is till opset (\d+)/s.exec(raw);
  if (opset) return opsetMessage(file, opset[1], opset[2]);
  if (ALLOCATION.test(raw))
    return `${file} is too large for the browser runtime (${RUNTIME.name}): its WebAssembly memory holds at most 4 GB, the model's weights and its working memory together. Use a smaller model, or export it with float16 weights.`;
  const external = /external data|external tensors|MountedFiles/i.test(raw);
  if (external || facts?.externalData.length)
    return externalDataMessage(file, facts?.externalData.length ? facts.externalData : [`${file}.data`]);
  if (facts?.customOps.length) return customOpMessage(file, facts.customOps);
  const declared = facts ? onnxOpset(facts) : undefined;
  if (declared !== undefined && declared > RUNTIME.maxOpset) return opsetMessage(file, declared, RUNTIME.maxOpset);
  if (facts?.irVersion && facts.irVersion > RUNTIME.maxIrVersion)
    return irMessage(file, facts.irVersion, RUNTIME.maxIrVersion);
  if (/protobuf parsing failed|INVALID_PROTOBUF/i.test(raw))
    return `${file} is not an ONNX model the browser runtime can read (the file may be truncated or corrupt): export or download it again.`;
  return `${file} could not be opened by the browser runtime (${RUNTIME.name}); the technical detail below says why. Check that it runs in onnxruntime, and ${EXPORT_HINT}.`;
}

/** Why a run failed, for the user: which node, and that it is this input (its size) the model fails on. */
export function explainRunFailure(file: string, raw: string, facts: OnnxFacts | null, inputDims?: number[]): string {
  const size = inputDims ? ` of shape [${inputDims.join(', ')}]` : '';
  const dtype = /Unexpected input data type\. Actual: \(tensor\((\w+)\)\)\s*, expected: \(tensor\((\w+)\)\)/.exec(raw);
  if (dtype) {
    const [fed, wanted] = [ORT_TYPE_NAMES[dtype[1]] ?? dtype[1], ORT_TYPE_NAMES[dtype[2]] ?? dtype[2]];
    const input = facts?.inputs[0]?.name;
    return `${file}'s input${input ? ` '${input}'` : ''} is ${wanted} in the graph, but AttnLens feeds ${fed} as its contract says: export the model with a ${fed} image input (or fix the contract's input.dtype).`;
  }
  const reshape =
    /cannot be reshaped to the requested shape\. Input shape:\{([^}]*)\}, requested shape:\{([^}]*)\}/.exec(raw);
  if (reshape)
    return `${file} fails on this input size: ${nodeOf(raw, 'Reshape', facts)} cannot reshape ${braces(reshape[1])} to ${braces(reshape[2])}. The model was probably exported for another input size than its contract's input.shape${inputDims ? ` ([${inputDims.join(', ')}])` : ''}: export it again for that size (or with dynamic axes), or fix input.shape.`;
  const huge =
    /running (\w+) node\. Name:'([^']*)'.*?(would require more than \d+ bytes|overflow|bad_alloc|exceeds)/s.exec(raw);
  if (huge || /overflow|bad_alloc/i.test(raw)) {
    const where = huge ? `its ${huge[1]} node '${huge[2]}'` : 'one of its nodes';
    return `${file} fails on this input size: ${where} computes a tensor too large to hold (more than 4 GB, an integer overflow in its sizes) for the input${size}. Check the shapes that node computes from the input, and export the model again.`;
  }
  const node = /running (\w+) node\. Name:'([^']*)' Status Message: (.*)/s.exec(raw);
  if (node)
    return `${file} failed in its ${node[1]} node '${node[2]}' on this input${size}; the technical detail below says why. Check that the model runs in onnxruntime on an input of its contract's shape.`;
  return `${file} failed to run in the browser runtime (${RUNTIME.name}) on this input${size}; the technical detail below says why.`;
}

/** The most one tensor may hold: the browser runtime's WebAssembly memory is 4 GB for weights and every tensor. */
export const MAX_TENSOR_BYTES = 2 ** 30;
const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2 };

/**
 * Why a contract's tensors cannot fit the browser runtime (an input of 40000×40000 pixels is 19 GB as float32),
 * or null: said at load, before anything is allocated, instead of a run that fails on a vague out-of-memory.
 */
export function oversizedTensors(
  file: string,
  input: { name: string; shape: readonly number[]; dtype: string },
  outputs: readonly { name: string; shape: readonly number[] }[],
): string | null {
  const size = (shape: readonly number[], bytesPer: number) => shape.reduce((a, d) => a * Math.max(1, d), bytesPer);
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const inputBytes = size(input.shape, DTYPE_BYTES[input.dtype] ?? 4);
  if (inputBytes > MAX_TENSOR_BYTES)
    return `${file}'s input '${input.name}' is [${input.shape.join(', ')}]: ${gb(inputBytes)} as ${input.dtype}, more than the browser runtime can hold (its WebAssembly memory is at most 4 GB for everything). Export it for a smaller input: AttnLens analyses images at up to 4,096 pixels a side.`;
  const big = outputs.find((o) => size(o.shape, 4) > MAX_TENSOR_BYTES);
  if (big)
    return `${file}'s output '${big.name}' is [${big.shape.join(', ')}]: ${gb(size(big.shape, 4))} as float32, more than the browser runtime can hold (its WebAssembly memory is at most 4 GB for everything). Export a smaller output (a lower resolution, fewer layers or heads).`;
  return null;
}
