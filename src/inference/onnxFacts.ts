/**
 * What an ONNX file says about itself, read from its bytes without a runtime: the facts a failure message needs
 * (opset imports, IR version, operators of custom domains, external-data files, the graph's inputs and which
 * nodes run which operator). Walks the ModelProto wire format with @bufbuild/protobuf's BinaryReader, as
 * src/contract/onnxMetadata.ts does, skipping what is not needed (weights stay undecoded).
 *
 * Field numbers from onnx.proto: ModelProto.ir_version = 1, .opset_import = 8, .graph = 7;
 * OperatorSetIdProto.domain = 1, .version = 2; GraphProto.node = 1, .initializer = 5, .input = 11;
 * NodeProto.name = 3, .op_type = 4, .domain = 7, .attribute = 5; AttributeProto.g = 6, .graphs = 11;
 * TensorProto.external_data = 13, .data_location = 14; StringStringEntryProto.key = 1, .value = 2;
 * ValueInfoProto.name = 1, .type = 2; TypeProto.tensor_type = 1; TypeProto.Tensor.elem_type = 1.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export interface OnnxFacts {
  irVersion: number | null;
  /** Opset per domain ('' is the default ONNX domain, ai.onnx). */
  opsets: { domain: string; version: number }[];
  /** Operators from domains other than ONNX's own (and onnxruntime's com.microsoft), each once. */
  customOps: { domain: string; opType: string }[];
  /** Files the weights live in (TensorProto external_data 'location'), each once. */
  externalData: string[];
  /** The graph's inputs that are not initializers, with the element type as onnxruntime names it. */
  inputs: { name: string; type: string }[];
  /** Node names per operator type (an unnamed node counts as ''), in graph order, subgraphs included. */
  nodesByOp: Record<string, string[]>;
}

/** ONNX TensorProto.DataType → onnxruntime-web's name. */
export const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

/** Domains every onnxruntime build knows: ONNX's own and onnxruntime's contrib ops. */
const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

/** Calls `visit(field, wireType, reader)` per field; a visitor that does not consume the field returns false. */
export function eachField(bytes: Uint8Array, visit: (field: number, wire: WireType, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (!visit(field, wire, r)) r.skip(wire);
  }
}

const LD = WireType.LengthDelimited;

function readGraph(bytes: Uint8Array, facts: OnnxFacts, initializers: Set<string>, top: boolean): void {
  const inputs: { name: string; type: string }[] = [];
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD) return false;
    if (field === 1) readNode(r.bytes(), facts, initializers);
    else if (field === 5) readInitializer(r.bytes(), facts, initializers);
    else if (field === 11 && top) inputs.push(readValueInfo(r.bytes()));
    else return false;
    return true;
  });
  if (top) facts.inputs = inputs.filter((i) => !initializers.has(i.name));
}

function readNode(bytes: Uint8Array, facts: OnnxFacts, initializers: Set<string>): void {
  let name = '';
  let opType = '';
  let domain = '';
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD) return false;
    if (field === 3) name = r.string();
    else if (field === 4) opType = r.string();
    else if (field === 7) domain = r.string();
    else if (field === 5) readAttribute(r.bytes(), facts, initializers);
    else return false;
    return true;
  });
  facts.nodesByOp[opType] = [...(facts.nodesByOp[opType] ?? []), name];
  if (!STANDARD_DOMAINS.has(domain) && !facts.customOps.some((o) => o.domain === domain && o.opType === opType))
    facts.customOps.push({ domain, opType });
}

/** Subgraphs (If, Loop, Scan bodies) hold nodes and weights too. */
function readAttribute(bytes: Uint8Array, facts: OnnxFacts, initializers: Set<string>): void {
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD || (field !== 6 && field !== 11)) return false;
    readGraph(r.bytes(), facts, initializers, false);
    return true;
  });
}

function readInitializer(bytes: Uint8Array, facts: OnnxFacts, initializers: Set<string>): void {
  eachField(bytes, (field, wire, r) => {
    if (field === 8 && wire === LD) initializers.add(r.string());
    else if (field === 13 && wire === LD) {
      let key = '';
      let value = '';
      eachField(r.bytes(), (f, w, e) => {
        if (w !== LD || (f !== 1 && f !== 2)) return false;
        if (f === 1) key = e.string();
        else value = e.string();
        return true;
      });
      if (key === 'location' && !facts.externalData.includes(value)) facts.externalData.push(value);
    } else return false;
    return true;
  });
}

function readValueInfo(bytes: Uint8Array): { name: string; type: string } {
  let name = '';
  let type = 'unknown';
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD) return false;
    if (field === 1) name = r.string();
    else if (field === 2)
      eachField(r.bytes(), (f, w, t) => {
        if (f !== 1 || w !== LD) return false; // tensor_type
        eachField(t.bytes(), (g, v, e) => {
          if (g !== 1 || v !== WireType.Varint) return false;
          const code = e.int32();
          type = ELEM_TYPES[code] ?? `ONNX type ${code}`;
          return true;
        });
        return true;
      });
    else return false;
    return true;
  });
  return { name, type };
}

/** The facts of a model's bytes, or null when they are not a readable ONNX ModelProto. */
export function readOnnxFacts(bytes: Uint8Array): OnnxFacts | null {
  const facts: OnnxFacts = { irVersion: null, opsets: [], customOps: [], externalData: [], inputs: [], nodesByOp: {} };
  const found: { graph?: Uint8Array } = {}; // assigned inside the visitor
  try {
    eachField(bytes, (field, wire, r) => {
      if (field === 1 && wire === WireType.Varint) facts.irVersion = Number(r.int64());
      else if (field === 7 && wire === LD) found.graph = r.bytes();
      else if (field === 8 && wire === LD) {
        let domain = '';
        let version = 0;
        eachField(r.bytes(), (f, w, o) => {
          if (f === 1 && w === LD) domain = o.string();
          else if (f === 2 && w === WireType.Varint) version = Number(o.int64());
          else return false;
          return true;
        });
        facts.opsets.push({ domain: domain === 'ai.onnx' ? '' : domain, version });
      } else return false;
      return true;
    });
    if (found.graph) readGraph(found.graph, facts, new Set(), true);
  } catch {
    return null;
  }
  return facts.irVersion === null || !found.graph ? null : facts;
}

/** The model's default-domain (ai.onnx) opset, if it imports one. */
export const onnxOpset = (facts: OnnxFacts): number | undefined => facts.opsets.find((o) => o.domain === '')?.version;

/**
 * The shape of each graph input as the file declares it (TypeProto.Tensor.shape = 2, TensorShapeProto.dim = 1,
 * Dimension.dim_value = 1 / dim_param = 2): a number per fixed axis, the axis's name for a symbolic one (what
 * `freeDimensionOverrides` takes), -1 for an axis left open without a name; null when the file declares no shape.
 * Initializers listed among the inputs are included (the caller looks inputs up by name).
 */
export function inputShapes(bytes: Uint8Array): Record<string, (number | string)[] | null> {
  const shapes: Record<string, (number | string)[] | null> = {};
  const graph: { bytes?: Uint8Array } = {};
  eachField(bytes, (field, wire, r) => {
    if (field !== 7 || wire !== LD) return false;
    graph.bytes = r.bytes();
    return true;
  });
  if (!graph.bytes) return shapes;
  eachField(graph.bytes, (field, wire, r) => {
    if (field !== 11 || wire !== LD) return false;
    let name = '';
    let shape: (number | string)[] | null = null;
    eachField(r.bytes(), (f, w, v) => {
      if (w !== LD) return false;
      if (f === 1) name = v.string();
      else if (f === 2)
        eachField(v.bytes(), (g, x, t) => {
          if (g !== 1 || x !== LD) return false; // tensor_type
          eachField(t.bytes(), (h, y, s) => {
            if (h !== 2 || y !== LD) return false; // shape
            shape = [];
            eachField(s.bytes(), (k, z, d) => {
              if (k !== 1 || z !== LD) return false; // dim
              let dim: number | string = -1;
              eachField(d.bytes(), (m, u, e) => {
                if (m === 1 && u === WireType.Varint) dim = Number(e.int64());
                else if (m === 2 && u === LD) dim = e.string() || -1;
                else return false;
                return true;
              });
              shape!.push(dim);
              return true;
            });
            return true;
          });
          return true;
        });
      else return false;
      return true;
    });
    shapes[name] = shape;
    return true;
  });
  return shapes;
}
