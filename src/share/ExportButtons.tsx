/** Export buttons: a pane's PNG (in each pane), the whole view's PNG and its numbers' JSON (under the panes). */
import { useState } from 'react';
import { runKey } from '../state/runs';
import { findImage, type ImageEntry, useStore } from '../state/store';
import { exportPanePng, exportViewJson, exportViewPng } from './viewExport';

const BUTTON = 'rounded bg-slate-800 px-2 py-0.5 text-xs disabled:opacity-50';

/** Runs an export, disabling its button meanwhile; a failure becomes a notice naming the export. */
function useExport(what: string, run: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const start = () => {
    setBusy(true);
    run()
      .catch((e: Error) => useStore.getState().notify(`${what} could not be made: ${e.message}.`))
      .finally(() => setBusy(false));
  };
  return { busy, start };
}

export function PaneExportButton({ modelId, image }: { modelId: string; image: ImageEntry | undefined }) {
  const drawn = useStore((s) => !!image && s.slots[modelId]?.status === 'ready' && !!s.runs[runKey(modelId, image.id)]);
  const { busy, start } = useExport(`The PNG of ${modelId}`, () => exportPanePng(modelId));
  return (
    <button
      type="button"
      className={`mt-1 ${BUTTON}`}
      data-testid="pane-export-png"
      disabled={!drawn || busy}
      title="This pane at the image's own resolution, with the model's name and a legend, as a PNG file"
      onClick={start}
    >
      Export PNG
    </button>
  );
}

export function ViewExportButtons() {
  const anyDrawn = useStore((s) => {
    const image = findImage(s.images, s.view.image);
    return !!image && s.view.models.some((id) => s.slots[id]?.status === 'ready' && s.runs[runKey(id, image.id)]);
  });
  const png = useExport('The PNG of the view', exportViewPng);
  const numbers = useExport('The numbers of the view', exportViewJson);
  return (
    <div className="mt-2 flex gap-2">
      <button
        type="button"
        className={BUTTON}
        data-testid="view-export-png"
        disabled={!anyDrawn || png.busy}
        title="Every pane side by side with the agreement numbers under them, as one PNG file"
        onClick={png.start}
      >
        Export view PNG
      </button>
      <button
        type="button"
        className={BUTTON}
        data-testid="view-export-json"
        disabled={!anyDrawn || numbers.busy}
        title="Per model its boxes or class-map cells per class, and the agreement numbers, as JSON"
        onClick={numbers.start}
      >
        Export numbers JSON
      </button>
    </div>
  );
}
