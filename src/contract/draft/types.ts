/**
 * A draft contract: what AttnLens can read from a plain ONNX graph (no contract, no sidecar), each value with
 * how sure it is and why, and what only the user can say (class names, normalisation, box format, activation,
 * which of two same-shape outputs is which) as questions with a default to confirm — never a silent guess.
 */
import type { ContractOutput, GraphSignature, OutputRole } from '../types';

/** 'inferred': the graph decides it; 'ask': it cannot, and the value is only a default the user confirms. */
export type Certainty = 'inferred' | 'ask';

export interface Proposal<T> {
  value: T;
  certainty: Certainty;
  /** Why, in words: what in the graph decides it, or why the graph cannot. */
  reason: string;
}

/** An output's role in the draft: a contract role, or left out of the contract. */
export type DraftRole = OutputRole | 'ignore';

/** Box-logit scores: the contract's activation, softmax's optional last no-object column spelled out. */
export type ScoreActivation = 'sigmoid' | 'softmax' | 'softmax_no_object';

/** The contract fields of an output that only the user can answer. */
export type QuestionField =
  | 'upsample'
  | 'activation'
  | 'box_format'
  | 'layers'
  | 'layer'
  | 'teacher'
  | 'teacher_output'
  | 'paths';

/**
 * A question about one output. Answers are kept as the text the user typed or picked: `choice` is one of
 * `options`; `text` a string; `int` a whole number; `list` comma-separated (numbers for `layers`).
 */
export interface Question {
  field: QuestionField;
  kind: 'choice' | 'text' | 'int' | 'list';
  options?: string[];
  /** The default offered, shown as to be confirmed. */
  default: string;
  reason: string;
}

/** A role an output's shape allows, with what the graph decides for it and what must be asked. */
export interface RoleChoice {
  role: DraftRole;
  /** Why the shape allows it (for 'ignore': why the output may, or must, be left out). */
  reason: string;
  /** Contract fields the graph decides for this role: stride, grid, patch, keys, cls_token, site, layout. */
  fixed: Partial<ContractOutput>;
  /** box_logits, boxes, cross_attention: the query block, by its number of queries (its kind is asked once per block). */
  queries?: number;
  questions: Question[];
}

export interface DraftOutput {
  name: string;
  /** As the graph gives them: a number per fixed axis, a name per open one; null when it gives no shape. */
  dims: (number | string)[] | null;
  /** The static shape a contract declares (an open batch axis read as 1), or null when there is none. */
  shape: number[] | null;
  dtype: string;
  /** The operator computing it, looked up through slicing and reshaping (Slice, Reshape, Concat…); null if none. */
  producer: string | null;
  role: Proposal<DraftRole>;
  /** The roles its shape allows, the last always 'ignore'. */
  choices: RoleChoice[];
}

/** A query block of a detector: outputs [1, Q, …] around a boxes output [1, Q, 4]. */
export interface DraftBlock {
  queries: number;
  block: Proposal<'one_to_one' | 'one_to_many'>;
  /** For one_to_many: copies of each ground-truth object the block was matched to. */
  k: Proposal<number>;
}

export type NormalisationPreset = 'imagenet' | 'unit' | 'symmetric' | 'custom';

export interface DraftInput {
  name: Proposal<string>;
  /** The graph's inputs that can be an image (4-D): the choices for `name`. */
  names: string[];
  dtype: string;
  dims: (number | string)[] | null;
  layout: Proposal<'NCHW' | 'NHWC'>;
  /** Height and width; null when the graph leaves them open (the user gives them). */
  size: Proposal<[number, number] | null>;
  color: Proposal<'RGB' | 'BGR'>;
  normalisation: Proposal<NormalisationPreset>;
  resize: Proposal<'stretch' | 'letterbox'>;
}

export interface DraftContract {
  /** The model file's name as the user gave it. */
  file: string;
  model: { id: string; name: string; role: Proposal<'teacher' | 'student'> };
  input: DraftInput;
  /** How many classes the proposed outputs carry (a class list has at least one). */
  classes: Proposal<number>;
  blocks: DraftBlock[];
  outputs: DraftOutput[];
  /** Why the model cannot open whatever the answers (an integer input, no image input…): shown, and Open refuses. */
  blockers: string[];
  /** The graph as the runtime reports it: a contract is checked against it before the model loads. */
  signature: GraphSignature;
}
