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

export interface ZooModel {
  id: string;
  file: string;
  task: string;
  role: 'teacher' | 'student';
  bytes: number;
  params: number;
  sha256: string;
  metrics: { test: SegMetrics | PseudoMaskMetrics; check_slice: SegMetrics | PseudoMaskMetrics };
  latency_ms: { onnxruntime_node: number | null };
}

export interface ZooIndex {
  format: 'attnlens-zoo';
  version: number;
  generated_at: string;
  models: ZooModel[];
  pairs: { teacher: string; student: string; label: string }[];
}

export const isSegMetrics = (m: SegMetrics | PseudoMaskMetrics): m is SegMetrics => 'miou' in m;

export async function fetchZoo(base = import.meta.env.BASE_URL): Promise<ZooIndex> {
  const res = await fetch(`${base}models/index.json`);
  if (!res.ok) throw new Error(`the zoo index models/index.json did not load (HTTP ${res.status}); run the zoo pipeline (npm run zoo)`);
  return res.json() as Promise<ZooIndex>;
}
