/** Store selectors every view uses: the current image, the models in view, a model's run and its task result. */
import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { lacking } from '../app/readback';
import { interpret, type TaskResult } from '../app/task';
import type { ModelInView } from '../methods/types';
import { type Run, runKey } from '../state/runs';
import { findImage, type ImageEntry, useStore } from '../state/store';

export const useCurrentImage = (): ImageEntry | undefined => useStore((s) => findImage(s.images, s.view.image));

/** Loaded models in the view, left to right (those still loading or failed are left out). */
export function useModelsInView(): ModelInView[] {
  const contracts = useStore(useShallow((s) => s.view.models.map((id) => s.slots[id]?.model?.contract)));
  const ids = useStore((s) => s.view.models);
  return useMemo(
    () => ids.flatMap((id, i) => (contracts[i] ? [{ id, contract: contracts[i]! }] : [])),
    [ids, contracts],
  );
}

export function useRun(modelId: string | undefined, image: ImageEntry | undefined): Run | undefined {
  return useStore((s) => (modelId && image ? s.runs[runKey(modelId, image.id)] : undefined));
}

/**
 * Runs of the current image for every model in view, by model id: those that serve the views in sight (a run
 * whose outputs a view needs are still in the worker is left out until they come, as if it had not run yet).
 */
export function useRuns(image: ImageEntry | undefined): Record<string, Run> {
  const ids = useStore((s) => s.view.models);
  const models = useModelsInView();
  const runs = useStore(useShallow((s) => ids.map((id) => (image ? s.runs[runKey(id, image.id)] : undefined))));
  return useMemo(() => {
    const serves = (id: string, run: Run) => {
      const m = models.find((x) => x.id === id);
      return !m || !lacking(run, m.contract, models).length;
    };
    return Object.fromEntries(ids.flatMap((id, i) => (runs[i] && serves(id, runs[i]!) ? [[id, runs[i]!]] : [])));
  }, [ids, runs, models]);
}

/** One model's task result (mask or detections at the current threshold) on an image, or null until it has run. */
export function useTaskResult(modelId: string | undefined, image: ImageEntry | undefined): TaskResult | null {
  const contract = useStore((s) => (modelId ? s.slots[modelId]?.model?.contract : undefined));
  const run = useRun(modelId, image);
  const threshold = useStore((s) => s.view.threshold);
  return useMemo(() => (contract && run ? interpret(contract, run, threshold) : null), [contract, run, threshold]);
}
