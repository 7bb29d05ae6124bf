/** Contract entry point: find a model's contract (embedded or sidecar), parse and validate it. */
import { readOnnxHeader } from './onnxMetadata';
import type { Contract, ContractError } from './types';
import { contractWarnings, EXPORT_KIT_HINT, METADATA_KEY, validateContract } from './validate';

export { NotOnnxError, readOnnxHeader } from './onnxMetadata';
export * from './types';
export {
  CONTRACT_VERSION,
  checkAgainstGraph,
  contractWarnings,
  EXPORT_KIT_HINT,
  METADATA_KEY,
  recommendedScoreThreshold,
  validateContract,
} from './validate';

export type ContractResult =
  | {
      ok: true;
      contract: Contract;
      source: 'embedded' | 'sidecar';
      /**
       * Non-fatal findings: `newer-version` (a newer 1.x minor's roles and fields this AttnLens does not show),
       * `method-needs` (model.methods names a method whose outputs are missing).
       */
      warnings: ContractError[];
    }
  | { ok: false; problem: string; errors: ContractError[] };

/** The first dozen problems (a mangled document can have thousands), then how many more. */
const listed = (messages: string[], most = 12) =>
  [...messages.slice(0, most), ...(messages.length > most ? [`and ${messages.length - most} more`] : [])].join('; ');

/**
 * The contract of an ONNX file: a sidecar (if given) wins over the embedded one, so users can annotate
 * models they cannot re-export. Throws NotOnnxError when the bytes are not an ONNX model at all.
 */
export function loadContract(modelBytes: Uint8Array, sidecarJson?: string): ContractResult {
  const header = readOnnxHeader(modelBytes);
  let text = sidecarJson;
  let source: 'embedded' | 'sidecar' = 'sidecar';
  if (text === undefined) {
    text = header.metadata[METADATA_KEY];
    source = 'embedded';
  }
  if (text === undefined) {
    return {
      ok: false,
      problem: `the model has no AttnLens contract (no '${METADATA_KEY}' metadata and no sidecar). ${EXPORT_KIT_HINT}`,
      errors: [{ code: 'no-contract', message: 'no contract' }],
    };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      problem: `the ${source} contract is not valid JSON (${(e as Error).message}). ${EXPORT_KIT_HINT}`,
      errors: [{ code: 'json', message: (e as Error).message }],
    };
  }
  const errors = validateContract(doc);
  const version = errors.find((e) => e.code === 'version');
  if (version) return { ok: false, problem: version.message, errors }; // a newer AttnLens reads it: no re-export
  if (errors.length) {
    return {
      ok: false,
      problem: `the ${source} contract is invalid: ${listed(errors.map((e) => e.message))}. ${EXPORT_KIT_HINT}`,
      errors,
    };
  }
  const contract = doc as Contract;
  return { ok: true, contract, source, warnings: contractWarnings(contract) };
}
