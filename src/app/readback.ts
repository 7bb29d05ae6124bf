/**
 * Which outputs a run brings to the page and which wait in the worker (pure). A captured WebGPU graph leaves
 * every output on the GPU, and reading one back costs about a millisecond per megabyte-sized output on a real GPU
 * (measured): its runs bring what the pane and the views in sight draw; the rest stays in the worker until a
 * view that needs it appears (a model added to the view), when it is read back or, if the worker let it go,
 * the model runs again. Other sessions bring every output any view could draw, as before.
 */
import type { Contract } from '../contract';
import { pageOutputs, shownOutputs } from '../methods/registry';
import type { ModelInView } from '../methods/types';
import type { Run } from '../state/runs';
import { taskOutputs } from './task';

export function outputsToBring(
  contract: Contract,
  capturedGraph: boolean,
  models: ModelInView[],
): { bring: string[]; holdBack: string[] } {
  const all = [...new Set([...taskOutputs(contract), ...pageOutputs(contract)])];
  if (!capturedGraph) return { bring: all, holdBack: [] };
  const shown = new Set([...taskOutputs(contract), ...shownOutputs(contract, models)]);
  return { bring: all.filter((n) => shown.has(n)), holdBack: all.filter((n) => !shown.has(n)) };
}

/** Outputs the pane and the views now in sight need that a run does not have (empty: the run serves them). */
export function lacking(run: Pick<Run, 'outputs' | 'classMaps'>, contract: Contract, models: ModelInView[]): string[] {
  // a class map stands for its logits: a run reduces them only when no view reads them (controller.analyseMany)
  return [...new Set([...taskOutputs(contract), ...shownOutputs(contract, models)])].filter(
    (n) => !run.outputs[n] && !run.classMaps?.[n],
  );
}
