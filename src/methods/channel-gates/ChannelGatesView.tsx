import { useMemo } from 'react';
import { BarChart } from '../../components/charts/BarChart';
import { useCurrentImage, useModelsInView, useRuns } from '../../components/hooks';
import { summariseGate } from './compute';
import { channelGates } from './index';

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)} %` : '–');

/** Per model and site: how its channel gates spread over [0, 1] on this image (shares, so widths compare). */
export default function ChannelGatesView() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const runs = useRuns(image);
  const cards = useMemo(
    () =>
      models.flatMap((m) =>
        channelGates(m.contract).flatMap((o) => {
          const t = runs[m.id]?.outputs[o.name];
          return t ? [{ model: m.id, site: o.site ?? o.name, gate: summariseGate(t.data) }] : [];
        }),
      ),
    [models, runs],
  );
  if (!image) return null;
  return (
    <div data-testid="channel-gates-view">
      <p className="text-xs text-slate-400">
        Each bar: the share of a site's channels whose gate falls in that tenth of [0, 1] on this image (left: nearly
        closed, right: open). Shares, so a narrow student and a wide teacher compare.
      </p>
      {!cards.length && <p className="text-xs text-slate-400">waiting for the models to run…</p>}
      <div className="mt-2 flex flex-wrap gap-4">
        {cards.map((c) => (
          <div key={`${c.model}|${c.site}`} className="w-60 text-xs" data-testid="channel-gate-card">
            <div className="font-mono">
              {c.model} · {c.site}
            </div>
            <BarChart
              items={c.gate.histogram.map((v, i) => ({ label: `${i / 10}–${(i + 1) / 10}`, value: v }))}
              testId="gate-histogram"
            />
            <div className="text-slate-400">
              {c.gate.channels} channels · mean {c.gate.mean.toFixed(3)} · closed (&lt; 0.1) {pct(c.gate.closed)} · open
              (&gt; 0.9) {pct(c.gate.open)}
              {c.gate.notNumbers ? ` · ${c.gate.notNumbers} not a number` : ''}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
