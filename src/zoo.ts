/** The bundled zoo's index (public/models/index.json), as written by ml/attnlens_ml/pipeline.py. */

export interface SegMetrics {
  miou: number;
  iou_per_class: Record<string, number | null>;
  pixel_accuracy: number;
  images: number;
}

export interface PseudoMaskMetrics {
  images: number;
  dino_mass: number;
  dino_iou_last_layer: number;
  dino_iou_per_layer: number[];
  cst_score: number;
  cst_iou: number;
  baseline_whole_image_iou: number;
  baseline_centre_disc_iou: number;
  ceiling_patch_iou: number;
}

export interface DetMetrics {
  ap: number;
  ap50: number;
  ap75: number;
  ap_small: number;
  images: number;
}

export type Metrics = SegMetrics | PseudoMaskMetrics | DetMetrics;

export interface ZooModel {
  id: string;
  file: string;
  task: string;
  role: 'teacher' | 'student';
  bytes: number;
  params: number;
  sha256: string;
  metrics: { test: Metrics; check_slice: Metrics };
  latency_ms: { onnxruntime_node: number | null };
  /** Detectors: the recommended score threshold (also in the contract, 1.3) and its F1 on the validation split. */
  score_threshold?: ScoreThreshold;
}

/** How ml/attnlens_ml/thresholds.py chose a detector's threshold: best pooled F1 at IoU `iou` over `grid`. */
export interface ScoreThreshold {
  value: number;
  val_f1: number;
  images: number;
  precision: number;
  recall: number;
  iou: number;
  split: string;
  /** [first, last, step] */
  grid: [number, number, number];
}

/** A test variant of a zoo model (same weights, another contract, e.g. letterbox input); not in the menu. */
export interface ZooVariant {
  id: string;
  file: string;
  /** The zoo model it copies. */
  of: string;
  task: string;
  resize: 'stretch' | 'letterbox';
  letterbox_fill?: [number, number, number];
  bytes: number;
  sha256: string;
  purpose: string;
}

export interface ZooIndex {
  format: 'attnlens-zoo';
  version: number;
  generated_at: string;
  models: ZooModel[];
  pairs: { teacher: string; student: string; label: string }[];
  /** Test variants (ml/attnlens_ml/variants.py); the menu lists `models` and `pairs` only. */
  variants?: ZooVariant[];
}

export const isSegMetrics = (m: Metrics): m is SegMetrics => 'miou' in m;
export const isDetMetrics = (m: Metrics): m is DetMetrics => 'ap' in m;
