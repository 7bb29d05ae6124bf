/**
 * The current view as files: one pane's PNG, all panes side by side with the agreement numbers (PNG), and the
 * numbers behind them (JSON). Reads the stores as they are now; the drawing is src/viz/paneImage.ts's.
 */
import { type AgreementRow, computeAgreements } from '../app/agreement';
import { download, json } from '../app/download';
import { loadGalleryCoco } from '../app/gallery';
import { imageTruth } from '../app/imageTruth';
import { interpret, type TaskResult } from '../app/task';
import { withDecodedImage } from '../components/Photo';
import type { Contract } from '../contract';
import { useGroundTruthStore } from '../state/groundTruth';
import { runKey } from '../state/runs';
import { findImage, type ImageEntry, useStore } from '../state/store';
import { drawPaneImage, drawViewImage } from '../viz/paneImage';
import { viewNumbers } from './viewNumbers';

export interface PaneCapture {
  id: string;
  contract: Contract;
  /** Size of the model's .onnx file. */
  bytes: number;
  result: TaskResult;
}

/** What the view shows now: its image, the loaded models that have run on it (left to right), their numbers. */
export interface ViewCapture {
  image: ImageEntry;
  panes: PaneCapture[];
  rows: AgreementRow[];
  threshold: number | null;
  opacity: number;
}

/** The current view as the panes and the numbers under them show it; null without an image. */
export async function captureView(): Promise<ViewCapture | null> {
  const coco = await loadGalleryCoco();
  const { view, images, slots, runs } = useStore.getState();
  const image = findImage(images, view.image);
  if (!image) return null;
  const panes = view.models.flatMap((id): PaneCapture[] => {
    const model = slots[id]?.model;
    const run = runs[runKey(id, image.id)];
    return model && run
      ? [{ id, contract: model.contract, bytes: model.bytes, result: interpret(model.contract, run, view.threshold) }]
      : [];
  });
  const truth = imageTruth(image, useGroundTruthStore.getState().drawn[image.id], coco);
  const rows = computeAgreements(
    panes.map((p) => ({ id: p.id, contract: p.contract, result: p.result })),
    image.width,
    image.height,
    truth,
  );
  return { image, panes, rows, threshold: view.threshold, opacity: view.opacity };
}

function paneCanvas(bitmap: ImageBitmap, capture: ViewCapture, pane: PaneCapture): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  drawPaneImage(canvas, {
    image: bitmap,
    width: capture.image.width,
    height: capture.image.height,
    model: { id: pane.id, name: pane.contract.model.name },
    result: pane.result,
    classes: pane.contract.classes,
    opacity: capture.opacity,
  });
  return canvas;
}

/** One pane's picture at the image's resolution, with its caption band. */
export const renderPane = (capture: ViewCapture, pane: PaneCapture): Promise<HTMLCanvasElement> =>
  withDecodedImage(capture.image, (bitmap) => paneCanvas(bitmap, capture, pane));

/** Every pane side by side with the agreement texts under them. */
export const renderView = (capture: ViewCapture): Promise<HTMLCanvasElement> =>
  withDecodedImage(capture.image, (bitmap) => {
    const panes = capture.panes.map((p) => paneCanvas(bitmap, capture, p));
    const canvas = document.createElement('canvas');
    drawViewImage(
      canvas,
      panes.map((c) => ({ image: c, width: c.width, height: c.height })),
      capture.rows.map((r) => r.text),
      capture.image.width,
    );
    return canvas;
  });

export const canvasPng = (canvas: HTMLCanvasElement): Promise<Blob> =>
  new Promise((resolve, reject) =>
    canvas.toBlob(
      (png) =>
        png
          ? resolve(png)
          : reject(new Error(`the browser could not encode a ${canvas.width}×${canvas.height} PNG (too large?)`)),
      'image/png',
    ),
  );

async function capturedOrThrow(): Promise<ViewCapture> {
  const capture = await captureView();
  if (!capture) throw new Error('no image is open');
  return capture;
}

export async function exportPanePng(modelId: string): Promise<void> {
  const capture = await capturedOrThrow();
  const pane = capture.panes.find((p) => p.id === modelId);
  if (!pane) throw new Error(`${modelId} has not run on ${capture.image.name} yet`);
  download(`${capture.image.name}.${modelId}.png`, await canvasPng(await renderPane(capture, pane)));
}

export async function exportViewPng(): Promise<void> {
  const capture = await capturedOrThrow();
  if (!capture.panes.length) throw new Error(`no model has run on ${capture.image.name} yet`);
  download(`${capture.image.name}.view.png`, await canvasPng(await renderView(capture)));
}

export async function exportViewJson(): Promise<void> {
  const capture = await capturedOrThrow();
  const { image } = capture;
  const doc = viewNumbers({
    appVersion: __APP_VERSION__,
    created: new Date().toISOString(),
    image: { id: image.id, name: image.name, width: image.width, height: image.height },
    threshold: capture.threshold,
    opacity: capture.opacity,
    models: capture.panes.map((p) => ({ id: p.id, contract: p.contract, result: p.result })),
    agreements: capture.rows,
  });
  download(`${image.name}.view.json`, json(doc));
}
