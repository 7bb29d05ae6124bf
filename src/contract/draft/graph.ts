/**
 * The part of an ONNX graph a draft contract is inferred from, read from the model bytes without a runtime:
 * the graph's inputs and outputs (name, element type, dimensions) and its nodes (operator, input and output
 * tensor names) — top level only; weights and subgraphs stay undecoded.
 *
 * Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, .initializer = 5, .input = 11,
 * .output = 12; NodeProto.input = 1, .output = 2, .op_type = 4; TensorProto.name = 8; ValueInfoProto.name = 1,
 * .type = 2; TypeProto.tensor_type = 1; TypeProto.Tensor.elem_type = 1, .shape = 2; TensorShapeProto.dim = 1;
 * Dimension.dim_value = 1, .dim_param = 2.
 */
import { WireType } from '@bufbuild/protobuf/wire';
import { ELEM_TYPES, eachField } from '../../inference/onnxFacts';
import type { GraphSignature } from '../types';

/** A graph input or output. `dims`: a number per fixed axis, a name per open one ('?' when unnamed); null when the graph gives no shape. */
export interface GraphTensor {
  name: string;
  /** As onnxruntime names element types: 'float32', 'float16', 'int64', … */
  dtype: string;
  dims: (number | string)[] | null;
}

export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxGraph {
  /** The graph's inputs that are not weights (initializers). */
  inputs: GraphTensor[];
  outputs: GraphTensor[];
  nodes: GraphNode[];
}

const LD = WireType.LengthDelimited;

function readDimension(bytes: Uint8Array): number | string {
  let dim: number | string = '?';
  eachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WireType.Varint) dim = Number(r.int64());
    else if (field === 2 && wire === LD) dim = r.string() || '?';
    else return false;
    return true;
  });
  // a dim_value of 0 or less is how some exporters write an open axis
  return typeof dim === 'number' && dim <= 0 ? '?' : dim;
}

function readTensorType(bytes: Uint8Array, into: GraphTensor): void {
  eachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WireType.Varint) {
      const code = r.int32();
      into.dtype = ELEM_TYPES[code] ?? `ONNX type ${code}`;
    } else if (field === 2 && wire === LD) {
      const dims: (number | string)[] = [];
      eachField(r.bytes(), (f, w, d) => {
        if (f !== 1 || w !== LD) return false;
        dims.push(readDimension(d.bytes()));
        return true;
      });
      into.dims = dims;
    } else return false;
    return true;
  });
}

function readValueInfo(bytes: Uint8Array): GraphTensor {
  const tensor: GraphTensor = { name: '', dtype: 'unknown', dims: null };
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD) return false;
    if (field === 1) tensor.name = r.string();
    else if (field === 2)
      eachField(r.bytes(), (f, w, t) => {
        if (f !== 1 || w !== LD) return false; // tensor_type; sequences and maps are not images
        readTensorType(t.bytes(), tensor);
        return true;
      });
    else return false;
    return true;
  });
  return tensor;
}

function readNode(bytes: Uint8Array): GraphNode {
  const node: GraphNode = { opType: '', inputs: [], outputs: [] };
  eachField(bytes, (field, wire, r) => {
    if (wire !== LD) return false;
    if (field === 1) node.inputs.push(r.string());
    else if (field === 2) node.outputs.push(r.string());
    else if (field === 4) node.opType = r.string();
    else return false;
    return true;
  });
  return node;
}

function readInitializerName(bytes: Uint8Array): string {
  let name = '';
  eachField(bytes, (field, wire, r) => {
    if (field !== 8 || wire !== LD) return false;
    name = r.string();
    return true;
  });
  return name;
}

/** The graph of ONNX model bytes, or null when they are not a readable ONNX ModelProto with a graph. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraph | null {
  const found: { graph?: Uint8Array } = {}; // assigned inside the visitor
  try {
    eachField(bytes, (field, wire, r) => {
      if (field !== 7 || wire !== LD) return false;
      found.graph = r.bytes();
      return true;
    });
    if (!found.graph) return null;
    const inputs: GraphTensor[] = [];
    const graph: OnnxGraph = { inputs: [], outputs: [], nodes: [] };
    const weights = new Set<string>();
    eachField(found.graph, (field, wire, r) => {
      if (wire !== LD) return false;
      if (field === 1) graph.nodes.push(readNode(r.bytes()));
      else if (field === 5) weights.add(readInitializerName(r.bytes()));
      else if (field === 11) inputs.push(readValueInfo(r.bytes()));
      else if (field === 12) graph.outputs.push(readValueInfo(r.bytes()));
      else return false;
      return true;
    });
    graph.inputs = inputs.filter((i) => !weights.has(i.name));
    return graph;
  } catch {
    return null;
  }
}

/** The graph as the runtime reports it (what checkAgainstGraph compares a contract with). */
export const graphSignature = (g: OnnxGraph): GraphSignature => ({
  inputs: g.inputs.map((t) => ({ name: t.name, shape: t.dims, type: t.dtype })),
  outputs: g.outputs.map((t) => ({ name: t.name, shape: t.dims, type: t.dtype })),
});
