/** TypeScript view of contract/attnlens-contract.schema.json (spec: docs/contract.md). */

export type OutputRole =
  | 'segmentation_logits'
  | 'class_logits'
  | 'multilabel_logits'
  | 'cbam_channel_gate'
  | 'cbam_spatial_gate'
  | 'cbam_refined'
  | 'attnfd_projected'
  | 'cls_attention'
  | 'cls_key_cosine'
  | 'box_logits'
  | 'boxes'
  | 'cross_attention'
  | 'encoder_attention'
  | 'router_weights'
  | 'adapter_features'
  | 'token_features'
  | 'self_attention'
  /** 1.4: a channel-only gate [1, C] after its activation (squeeze-and-excitation), with a `site`. */
  | 'channel_gate';

export type Upsample = 'nearest' | 'bilinear' | 'bilinear_align_corners';

export interface ContractOutput {
  name: string;
  role: OutputRole;
  shape: number[];
  description?: string;
  site?: string;
  stride?: number;
  upsample?: Upsample;
  teacher?: string;
  layout?: string;
  layers?: number[];
  layer?: number;
  grid?: [number, number];
  patch?: number;
  cls_token?: 'leads' | 'none';
  keys?: 'patches' | 'all_tokens';
  labels?: number[];
  block?: 'one_to_one' | 'one_to_many';
  k?: number;
  activation?: 'sigmoid' | 'softmax';
  /**
   * 1.3, one_to_one `box_logits` only: the recommended score threshold in [0, 1] (keep a detection when its
   * score ≥ this), chosen by the exporter on validation data. The app's default threshold for the model.
   */
  score_threshold?: number;
  box_format?: 'cxcywh_normalized' | 'xyxy_normalized' | 'xyxy_pixels';
  paths?: string[];
  teacher_output?: string;
}

/**
 * A `self_attention` output (contract 1.2): every listed layer's full softmax attention, [1, L, H, T, T]
 * (layout batch,layer,head,query,key). With cls_token 'leads' token 0 is CLS and tokens 1..N are the grid's
 * patches row-major (T = N + 1); with 'none' the tokens are the patches alone (T = N).
 */
export interface SelfAttentionOutput extends ContractOutput {
  role: 'self_attention';
  layout: 'batch,layer,head,query,key';
  layers: number[];
  grid: [number, number];
  patch: number;
  cls_token: 'leads' | 'none';
  upsample: Upsample;
}

export interface ContractInput {
  name: string;
  shape: [number, number, number, number];
  layout: 'NCHW' | 'NHWC';
  dtype: 'float32' | 'float16';
  color: 'RGB' | 'BGR';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  resize: 'stretch' | 'letterbox';
  letterbox_fill?: [number, number, number];
}

export interface ContractClass {
  id: number;
  name: string;
  color: string;
}

export interface Contract {
  format: 'attnlens-contract';
  version: string;
  model: {
    id: string;
    name: string;
    task: 'segmentation' | 'detection' | 'classification' | 'features';
    role: 'teacher' | 'student';
    family: string;
    /** Informational: the app derives the applicable views from the outputs (docs/contract.md). */
    methods?: string[];
    teachers?: string[];
    description?: string;
  };
  input: ContractInput;
  classes: ContractClass[];
  /**
   * A newer 1.x minor's document keeps what this version does not know: fields on any object, and outputs
   * whose `role` is none of OutputRole (not shown; named in the `newer-version` warning). Ask for roles.
   */
  outputs: ContractOutput[];
}

export interface ContractError {
  code: string;
  message: string;
}

/**
 * What a runtime session says about its graph: names, shapes (a string where a dimension is symbolic; null
 * when not a tensor) and element types ('float32', 'float16', 'int64', …; absent or null when unknown).
 */
export interface GraphValue {
  name: string;
  shape: (number | string)[] | null;
  type?: string | null;
}

export interface GraphSignature {
  inputs: GraphValue[];
  outputs: GraphValue[];
}
