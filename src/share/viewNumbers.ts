/**
 * The numbers behind one view as a JSON document (pure): per model what it found on the image (its boxes, or its
 * class map's cells per class) at the view's threshold, and the agreement rows under the panes.
 */
import type { AgreementRow } from '../app/agreement';
import { detectionThreshold, type TaskResult } from '../app/task';
import type { Contract } from '../contract';
import { classCountsOnImage } from '../viz/paneImage';

export const VIEW_NUMBERS_FORMAT = 'attnlens-view-numbers';
export const VIEW_NUMBERS_VERSION = '1.0';

export interface ViewModelNumbers {
  id: string;
  name: string;
  role: 'teacher' | 'student';
  /** What the pane shows: 'segmentation', 'detection', or 'none' (then `note` says why). */
  task: TaskResult['kind'];
  /** Detectors: the score threshold used and where it came from; null for other tasks. */
  threshold: { value: number; from: 'contract' | 'default' | 'user' } | null;
  detections?: {
    query: number;
    class_id: number;
    class: string | null;
    score: number;
    box: [number, number, number, number];
  }[];
  pixels?: {
    /** Counted on the model's own class map (its input resolution), cells whose centre lies on the image. */
    unit: 'model-input cells on the image';
    grid: [number, number];
    classes: { class_id: number; class: string | null; cells: number }[];
  };
  note?: string;
}

export interface ViewNumbers {
  format: typeof VIEW_NUMBERS_FORMAT;
  version: typeof VIEW_NUMBERS_VERSION;
  app_version: string;
  created: string;
  image: { id: string; name: string; width: number; height: number };
  settings: { threshold: number | null; opacity: number };
  models: ViewModelNumbers[];
  agreements: { model: string; against: string; metric: string | null; value: number | null; text: string }[];
}

export interface ViewNumbersInput {
  appVersion: string;
  created: string;
  image: { id: string; name: string; width: number; height: number };
  /** The view's threshold (null: each detector's recommended) and mask opacity. */
  threshold: number | null;
  opacity: number;
  models: { id: string; contract: Contract; result: TaskResult | null }[];
  agreements: AgreementRow[];
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

function modelNumbers(
  m: ViewNumbersInput['models'][number],
  userThreshold: number | null,
  width: number,
  height: number,
): ViewModelNumbers {
  const className = (k: number) => m.contract.classes[k]?.name ?? null;
  const base = { id: m.id, name: m.contract.model.name, role: m.contract.model.role };
  const r = m.result;
  if (!r) return { ...base, task: 'none', threshold: null, note: 'not run on this image' };
  if (r.kind === 'detection')
    return {
      ...base,
      task: 'detection',
      threshold: { value: r.threshold, from: r.thresholdFrom },
      detections: r.detections.map((d) => ({
        query: d.query,
        class_id: d.classId,
        class: className(d.classId),
        score: round(d.score, 4),
        box: [round(d.x0, 2), round(d.y0, 2), round(d.x1, 2), round(d.y1, 2)],
      })),
    };
  if (r.kind === 'segmentation') {
    const counts = classCountsOnImage(r, width, height);
    return {
      ...base,
      task: 'segmentation',
      threshold: null,
      pixels: {
        unit: 'model-input cells on the image',
        grid: [r.width, r.height],
        classes: [...counts]
          .sort(([a], [b]) => a - b)
          .map(([k, cells]) => ({ class_id: k, class: className(k), cells })),
      },
    };
  }
  // A detector's threshold means something even when it has nothing to show; a non-detector has none.
  const th = m.contract.model.task === 'detection' ? detectionThreshold(m.contract, userThreshold) : null;
  return { ...base, task: 'none', threshold: th && { value: th.value, from: th.from }, note: r.reason };
}

export function viewNumbers(input: ViewNumbersInput): ViewNumbers {
  const { width, height } = input.image;
  return {
    format: VIEW_NUMBERS_FORMAT,
    version: VIEW_NUMBERS_VERSION,
    app_version: input.appVersion,
    created: input.created,
    image: input.image,
    settings: { threshold: input.threshold, opacity: input.opacity },
    models: input.models.map((m) => modelNumbers(m, input.threshold, width, height)),
    agreements: input.agreements.map((a) => ({
      model: a.model,
      against: a.against,
      metric: a.comparison?.metric ?? null,
      value: a.value,
      text: a.text,
    })),
  };
}
