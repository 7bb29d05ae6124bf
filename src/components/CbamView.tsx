import { useEffect, useRef } from 'react';
import { attnfdDistance, energyMap, range, topChannels } from '../analysis/attention';
import { cbamSites, type CbamSite } from '../inference/views';
import type { TensorPayload } from '../inference/protocol';
import { useStore } from '../state/store';
import { drawBars, drawColorbar, drawHeatmap } from '../viz/attention';
import { usePhoto } from './usePhoto';

/** AttnFD / CBAM: per site, each model's spatial gate and top channels, and the teacher↔student distance. */
export function CbamView() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const withSites = models.map((id) => ({ id, contract: slots[id]?.model?.contract, run: image ? results[`${id}@${image.name}`] : undefined }))
    .filter((m) => m.contract && cbamSites(m.contract).length > 0);
  if (withSites.length === 0) return null;
  const siteNames = [...new Set(withSites.flatMap((m) => cbamSites(m.contract!).map((s) => s.name)))];
  const [reference] = withSites;
  return (
    <section className="mt-6" data-testid="cbam-view">
      <h2 className="text-lg font-semibold">CBAM gates (AttnFD)</h2>
      <p className="text-xs text-slate-400">Spatial gates over the image at the mask opacity; raw sigmoid values with each map's own range (a gate may light the parts or the belt).
        Distance: AttnFD's per-site term ‖t/‖t‖ − s/‖s‖‖² (0 same, 2 orthogonal) and cosine, against {reference.id}.</p>
      {siteNames.map((name) => (
        <div key={name} className="mt-3" data-testid={`site-${name}`}>
          <h3 className="font-mono text-sm">{name}</h3>
          <div className="flex flex-wrap gap-4">
            {withSites.map((m) => {
              const site = cbamSites(m.contract!).find((s) => s.name === name);
              const refSite = cbamSites(reference.contract!).find((s) => s.name === name);
              return site && m.run ? (
                <SiteCard key={m.id} modelId={m.id} site={site} outputs={m.run.outputs}
                  reference={m.id === reference.id || !refSite || !reference.run ? undefined : { site: refSite, outputs: reference.run.outputs }} />
              ) : null;
            })}
          </div>
        </div>
      ))}
    </section>
  );
}

function SiteCard({ modelId, site, outputs, reference }: {
  modelId: string; site: CbamSite; outputs: Record<string, TensorPayload>;
  reference?: { site: CbamSite; outputs: Record<string, TensorPayload> };
}) {
  const heat = useRef<HTMLCanvasElement>(null);
  const photo = useRef<HTMLCanvasElement>(null);
  const bar = useRef<HTMLCanvasElement>(null);
  const image = useStore((s) => s.images[s.current]);
  const opacity = useStore((s) => s.view.opacity);
  usePhoto(photo, image);
  const bars = useRef<SVGSVGElement>(null);
  const spatial = outputs[site.spatial.name];
  const channel = outputs[site.channel.name];
  const [lo, hi] = spatial ? range(spatial.data) : [0, 0];
  useEffect(() => {
    if (!spatial || !heat.current || !bars.current || !bar.current) return;
    drawHeatmap(heat.current, spatial.data, spatial.dims[3], spatial.dims[2], lo, hi);
    drawColorbar(bar.current);
    drawBars(bars.current, topChannels(channel.data, 12));
  }, [spatial, channel, lo, hi]);
  let distance = '';
  if (reference) {
    const t = reference.site.refined && reference.outputs[reference.site.refined.name];
    const proj = site.projected && outputs[site.projected.name];
    const own = site.refined && outputs[site.refined.name];
    if (t && proj && proj.data.length === t.data.length) {
      const d = attnfdDistance(t.data, proj.data);
      distance = `AttnFD distance ${d.distance.toFixed(3)} · cosine ${d.cosine.toFixed(3)} (student through its trained connector)`;
    } else if (t && own) {
      const d = attnfdDistance(energyMap(t.data, t.dims[1]), energyMap(own.data, own.dims[1]));
      distance = `energy-map distance ${d.distance.toFixed(3)} · cosine ${d.cosine.toFixed(3)} (no connector: channel-mean of squares, width-free)`;
    }
  }
  return (
    <div className="w-60 text-xs" data-testid={`site-card-${modelId}`}>
      <div className="font-mono">{modelId}</div>
      <div className="relative h-40 w-40">
        <canvas ref={photo} className="absolute inset-0 h-full w-full" />
        <canvas ref={heat} className="absolute inset-0 h-full w-full" data-testid="spatial" style={{ opacity }} />
      </div>
      <div className="flex items-center gap-1 text-slate-400">
        {lo.toFixed(2)} <canvas ref={bar} className="h-2 w-16" /> {hi.toFixed(2)} · {site.spatial.upsample} (browser-smoothed)
      </div>
      <svg ref={bars} className="h-24 w-60" data-testid="channels" />
      <div className="text-slate-400">top-12 channel gates of {channel?.dims[1]}</div>
      {distance && <div className="mt-1" data-testid="distance">{distance}</div>}
    </div>
  );
}
