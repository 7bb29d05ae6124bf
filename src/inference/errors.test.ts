/**
 * The runtime's real failures (onnxruntime-web 1.30 under Node, loading tests/fixtures/corpus from
 * ml/scripts/make_bad_models.py), each translated: the file's name first, the cause, the fix, and none of the
 * runtime's own text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainLoadFailure, explainReadFailure, explainRunFailure, oversizedTensors, RUNTIME } from './errors';
import { readOnnxFacts } from './onnxFacts';

const corpus = (name: string) =>
  readOnnxFacts(new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures/corpus', name))));

/** Verbatim from onnxruntime-web 1.30.0 (InferenceSession.create / session.run rejections). */
const RAW = {
  customOp:
    "Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: Fatal error: com.acme:FancyPool(-1) is not a registered function/op",
  opset30:
    "Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: /mnt/azure_nvme_temp/_work/1/s/onnxruntime/core/graph/model_load_utils.h:56 void onnxruntime::model_load_utils::ValidateOpsetForDomain(const std::unordered_map<std::string, int> &, const logging::Logger &, bool, const std::string &, int) ONNX Runtime only *guarantees* support for models stamped with official released onnx opset versions. Opset 30 is under development and support for this is limited. The operator schemas and or other functionality may change before next ONNX release and in this case ONNX Runtime will not guarantee backward compatibility. Current official support for domain ai.onnx is till opset 26.\n",
  ir14: "Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: /mnt/azure_nvme_temp/_work/1/s/onnxruntime/core/graph/model.cc:203 onnxruntime::Model::Model(ModelProto &&, const PathString &, const IOnnxRuntimeOpSchemaRegistryList *, const logging::Logger &, const ModelOptions &) Unsupported model IR version: 14, max supported IR version: 13\n",
  external:
    'Can\'t create a session. ERROR_CODE: 1, ERROR_MESSAGE: Deserialize tensor o2m.cross_attention.row failed.Failed to load external data file ""external.onnx.data"", error: Module.MountedFiles is not available.',
  dtype:
    'failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Unexpected input data type. Actual: (tensor(float)) , expected: (tensor(int64))',
  reshape:
    'failed to call OrtRun(). ERROR_CODE: 1, ERROR_MESSAGE: /mnt/azure_nvme_temp/_work/1/s/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:93 onnxruntime::ReshapeHelper::ReshapeHelper(const TensorShape &, TensorShapeVector &, bool) input_shape_size == requested_shape_size was false. The input tensor cannot be reshaped to the requested shape. Input shape:{1,3,160,160}, requested shape:{1,3,320,160}\n',
  overflow:
    "failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Non-zero status code returned while running Tile node. Name:'huge_tile' Status Message: Tile output tensor would require more than 4294967295 bytes, which exceeds the supported maximum of 4294967295 bytes.",
};

const RAW_TEXT = /ERROR_CODE|\.cc:|\.h:\d|\/onnxruntime\/|onnxruntime::/;

function userFacing(message: string, file: string) {
  expect(message.startsWith(`${file} `) || message.startsWith(`${file}'s `)).toBe(true);
  expect(message).not.toMatch(RAW_TEXT);
}

describe('load failures', () => {
  it('a custom op: which op and domain, and the opsets the browser runtime supports', () => {
    const m = explainLoadFailure('custom-op.onnx', RAW.customOp, corpus('custom-op.onnx'));
    userFacing(m, 'custom-op.onnx');
    expect(m).toBe(
      'custom-op.onnx uses the custom operator FancyPool (domain com.acme), which the browser runtime (onnxruntime-web 1.30) does not have: it runs the standard ONNX operators, opsets up to 26. Export the model without custom operators (replace them by standard ONNX ones).',
    );
    // without the facts (unreadable bytes), from the runtime's text alone
    expect(explainLoadFailure('x.onnx', RAW.customOp, null)).toMatch(
      /^x\.onnx uses the custom operator FancyPool \(domain com\.acme\)/,
    );
  });
  it('an opset from the future', () => {
    const m = explainLoadFailure('opset-30.onnx', RAW.opset30, corpus('opset-30.onnx'));
    userFacing(m, 'opset-30.onnx');
    expect(m).toBe(
      'opset-30.onnx imports ONNX opset 30; the browser runtime (onnxruntime-web 1.30) reads opsets up to 26: export it again with opset 26 or lower (torch.onnx.export(…, opset_version=17) is a safe choice).',
    );
  });
  it('an IR version from the future', () => {
    const m = explainLoadFailure('ir-14.onnx', RAW.ir14, corpus('ir-14.onnx'));
    userFacing(m, 'ir-14.onnx');
    expect(m).toMatch(
      /^ir-14\.onnx is ONNX IR version 14, newer than the browser runtime \(onnxruntime-web 1\.30\) reads \(up to IR 13\)/,
    );
  });
  it('external data not given: which file to drop with it', () => {
    const m = explainLoadFailure('external.onnx', RAW.external, corpus('external.onnx'));
    userFacing(m, 'external.onnx');
    expect(m).toBe(
      'external.onnx keeps its weights in a separate file (external.onnx.data) that was not given with it: drop external.onnx and external.onnx.data together (select both files).',
    );
  });
  it('the facts stand in for text the table does not know', () => {
    expect(explainLoadFailure('a.onnx', 'something new', corpus('opset-30.onnx'))).toMatch(
      /^a\.onnx imports ONNX opset 30;/,
    );
    expect(explainLoadFailure('a.onnx', 'something new', corpus('ir-14.onnx'))).toMatch(
      /^a\.onnx is ONNX IR version 14/,
    );
    const unknown = explainLoadFailure('a.onnx', RAW.ir14.replace('Unsupported model IR', 'Odd'), null);
    userFacing(unknown, 'a.onnx');
    expect(unknown).toMatch(/the technical detail below says why/);
  });
  it("the limits are the runtime's own", () => {
    expect(RUNTIME.maxOpset).toBe(Number(/till opset (\d+)/.exec(RAW.opset30)![1]));
    expect(RUNTIME.maxIrVersion).toBe(Number(/max supported IR version: (\d+)/.exec(RAW.ir14)![1]));
  });
});

describe('run failures', () => {
  it('an input dtype the graph does not take: what the contract and graph say', () => {
    const m = explainRunFailure('int64-input.onnx', RAW.dtype, corpus('int64-input.onnx'));
    userFacing(m, 'int64-input.onnx');
    expect(m).toBe(
      "int64-input.onnx's input 'image' is int64 in the graph, but AttnLens feeds float32 as its contract says: export the model with a float32 image input (or fix the contract's input.dtype).",
    );
  });
  it('a reshape that fails: the node (from the graph: the runtime does not name it) and the input size', () => {
    const m = explainRunFailure('reshape-fail.onnx', RAW.reshape, corpus('reshape-fail.onnx'), [1, 3, 160, 160]);
    userFacing(m, 'reshape-fail.onnx');
    expect(m).toBe(
      "reshape-fail.onnx fails on this input size: its Reshape node 'bad_reshape' cannot reshape [1, 3, 160, 160] to [1, 3, 320, 160]. The model was probably exported for another input size than its contract's input.shape ([1, 3, 160, 160]): export it again for that size (or with dynamic axes), or fix input.shape.",
    );
  });
  it('an integer overflow: the node the runtime names', () => {
    const m = explainRunFailure('overflow.onnx', RAW.overflow, corpus('overflow.onnx'));
    userFacing(m, 'overflow.onnx');
    expect(m).toMatch(
      /^overflow\.onnx fails on this input size: its Tile node 'huge_tile' computes a tensor too large/,
    );
  });
  it('anything else still names the file and folds the raw text away', () => {
    const m = explainRunFailure(
      'm.onnx',
      'failed to call OrtRun(). ERROR_CODE: 9, ERROR_MESSAGE: /x/onnxruntime/y.cc:1 boom',
      null,
    );
    userFacing(m, 'm.onnx');
  });
});

describe('too large to hold', () => {
  it("the runtime's WebAssembly memory, and the tab's own", () => {
    const m = explainLoadFailure(
      'big.onnx',
      "Can't create a session. failed to allocate a buffer of size 2147483648.",
      null,
    );
    userFacing(m, 'big.onnx');
    expect(m).toMatch(
      /^big\.onnx is too large for the browser runtime \(onnxruntime-web 1\.30\): its WebAssembly memory holds at most 4 GB/,
    );
    expect(explainReadFailure('big.onnx', 2.1 * 2 ** 30, new RangeError('Array buffer allocation failed'))).toBe(
      "big.onnx (2.1 GB) is too large for this tab's memory: the browser could not make room for it. Close other tabs, or use a smaller model (float16 weights halve it).",
    );
    const gone = Object.assign(new Error('A requested file or directory could not be found'), {
      name: 'NotFoundError',
    });
    expect(explainReadFailure('m.onnx', 10, gone)).toMatch(
      /^m\.onnx could not be read \(it was moved, changed or deleted/,
    );
    expect(explainReadFailure('m.onnx', 10, new TypeError('network error'))).toBeNull();
  });
});

describe('oversizedTensors', () => {
  const input = { name: 'image', shape: [1, 3, 160, 160], dtype: 'float32' };
  it('passes the zoo sizes and a 4096-pixel input', () => {
    expect(oversizedTensors('m.onnx', input, [{ name: 'seg', shape: [1, 7, 160, 160] }])).toBeNull();
    expect(oversizedTensors('m.onnx', { ...input, shape: [1, 3, 4096, 4096] }, [])).toBeNull();
  });
  it('names a 40000×40000 input with its size in GB (hand-computed: 3·40000²·4 B = 19.2 GB)', () => {
    expect(oversizedTensors('huge.onnx', { ...input, shape: [1, 3, 40000, 40000] }, [])).toMatch(
      /^huge\.onnx's input 'image' is \[1, 3, 40000, 40000\]: 19\.2 GB as float32, .*4,096 pixels a side\.$/,
    );
  });
  it('counts float16 inputs at 2 bytes and names an oversized output', () => {
    // 3·20000·20000·2 B = 2.4 GB > 1 GiB; the output 1·7·8000·8000·4 B = 1.79 GB
    expect(oversizedTensors('h.onnx', { ...input, dtype: 'float16', shape: [1, 3, 20000, 20000] }, [])).toMatch(
      /2\.4 GB as float16/,
    );
    expect(oversizedTensors('o.onnx', input, [{ name: 'seg', shape: [1, 7, 8000, 8000] }])).toMatch(
      /^o\.onnx's output 'seg' is \[1, 7, 8000, 8000\]: 1\.8 GB as float32/,
    );
  });
});
