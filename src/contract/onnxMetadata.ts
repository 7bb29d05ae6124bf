/**
 * Reads metadata_props from ONNX model bytes. onnxruntime-web does not expose custom metadata, so we walk
 * the ModelProto wire format ourselves with @bufbuild/protobuf's BinaryReader, skipping the (large) graph
 * without decoding it. Field numbers from onnx.proto: ModelProto.metadata_props = 14,
 * StringStringEntryProto.key = 1, .value = 2; ModelProto.graph = 7, ir_version = 1.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export class NotOnnxError extends Error {}

export interface OnnxHeader {
  irVersion: number | null;
  hasGraph: boolean;
  metadata: Record<string, string>;
}

export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  if (bytes.length === 0) throw new NotOnnxError('the file is empty (0 bytes)');
  const reader = new BinaryReader(bytes);
  const metadata: Record<string, string> = {};
  let irVersion: number | null = null;
  let hasGraph = false;
  try {
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.Varint) {
        irVersion = Number(reader.int64());
      } else if (field === 7 && wireType === WireType.LengthDelimited) {
        hasGraph = true;
        reader.skip(wireType);
      } else if (field === 14 && wireType === WireType.LengthDelimited) {
        const entry = new BinaryReader(reader.bytes());
        let key = '';
        let value = '';
        while (entry.pos < entry.len) {
          const [f, w] = entry.tag();
          if (f === 1 && w === WireType.LengthDelimited) key = entry.string();
          else if (f === 2 && w === WireType.LengthDelimited) value = entry.string();
          else entry.skip(w);
        }
        metadata[key] = value;
      } else {
        reader.skip(wireType);
      }
    }
  } catch (e) {
    throw new NotOnnxError(
      `the bytes are not a complete ONNX protobuf (${(e as Error).message}); the file may be truncated or not an ONNX model`,
    );
  }
  if (reader.pos !== reader.len || irVersion === null || !hasGraph) {
    throw new NotOnnxError(
      irVersion === null
        ? 'no ONNX ir_version field: this is not an ONNX model'
        : 'no graph in the file: this is not a complete ONNX model',
    );
  }
  return { irVersion, hasGraph, metadata };
}
