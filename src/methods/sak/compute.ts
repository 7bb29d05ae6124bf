/** The SAK view model (pure): router weights and, per teacher, the cosine map between adapter path and teacher. */
import { perLocationCosine, tokensToChannels } from '../../analysis/attention';
import type { TensorPayload } from '../../inference/protocol';
import type { Run } from '../../state/runs';
import type { ModelInView } from '../types';
import { adapterFeatures, routerWeights } from './index';

/** A teacher output as channel-major [C, n], whatever its declared layout ([1, n, C] tokens or [1, C, h, w]). */
export function channelMajor(t: TensorPayload): { data: Float32Array; channels: number } {
  if (t.dims.length === 3) return { data: tokensToChannels(t.data, t.dims[1], t.dims[2]), channels: t.dims[2] };
  return { data: t.data, channels: t.dims[1] };
}

/** One path's share at or above this and the router has collapsed onto it: the other paths barely count. */
export const ROUTER_COLLAPSE_SHARE = 0.95;

/** The path a router sends (nearly) all its weight to, with its share of the total, or null. */
export function routerCollapse(
  router: readonly { path: string; weight: number }[],
): { path: string; share: number } | null {
  const total = router.reduce((a, p) => a + p.weight, 0);
  if (!(total > 0)) return null; // no weight, or NaN: nothing to say about a collapse
  const top = router.reduce((a, p) => (p.weight > a.weight ? p : a));
  const share = top.weight / total;
  return share >= ROUTER_COLLAPSE_SHARE ? { path: top.path, share } : null;
}

export type TeacherCard =
  | { teacher: string; output: string; cosine: Float32Array; grid: [number, number]; mean: number }
  | { teacher: string; output: string; missing: string };

export interface SakModel {
  student: string;
  router: { path: string; weight: number }[] | null;
  teachers: TeacherCard[];
}

export function computeSak(models: ModelInView[], runs: Record<string, Run>): SakModel | string {
  const student = models.find((m) => adapterFeatures(m.contract).length);
  if (!student) return 'no SAK student in view';
  const run = runs[student.id];
  if (!run) return `waiting for ${student.id} to run`;
  const router = routerWeights(student.contract);
  const weights = router && run.outputs[router.name]?.data;
  const inView = new Set(models.map((m) => m.id));
  const teachers = adapterFeatures(student.contract).map((o): TeacherCard => {
    const teacher = o.teacher!;
    const output = o.teacher_output!;
    if (!inView.has(teacher)) return { teacher, output, missing: `${teacher} is not in the view: add it to compare` };
    if (!runs[teacher]) return { teacher, output, missing: `waiting for ${teacher} to run` };
    // A finished run without the output will not grow it: say which is absent rather than wait for ever.
    const t = runs[teacher].outputs[output];
    const mine = run.outputs[o.name];
    if (!t) return { teacher, output, missing: `${teacher}'s run has no ${output} output` };
    if (!mine) return { teacher, output, missing: `${student.id}'s run has no ${o.name} output` };
    const tm = channelMajor(t);
    const [, channels, h, w] = mine.dims;
    if (tm.channels !== channels || tm.data.length !== mine.data.length)
      return {
        teacher,
        output,
        missing: `${teacher}'s ${output} (${tm.channels} channels × ${tm.data.length / tm.channels}) does not match the adapter path (${channels} × ${h * w})`,
      };
    const cosine = perLocationCosine(mine.data, tm.data, channels);
    return { teacher, output, cosine, grid: [h, w], mean: cosine.reduce((a, b) => a + b, 0) / cosine.length };
  });
  return {
    student: student.id,
    router: router && weights ? router.paths!.map((path, i) => ({ path, weight: weights[i] })) : null,
    teachers,
  };
}
