import { useMemo } from 'react';
import { inputFrameOnImage } from '../../analysis/geometry';
import { BarChart } from '../../components/charts/BarChart';
import { ColourScale, Heatmap } from '../../components/charts/Heatmap';
import { useCurrentImage, useModelsInView, useRuns } from '../../components/hooks';
import { NoValueNote } from '../../components/NonFinite';
import { imageBox, Photo } from '../../components/Photo';
import { useStore } from '../../state/store';
import { computeCbam } from './compute';

/** AttnFD / CBAM: per site, each model's spatial gate and top channels, and the distance to the teacher. */
export default function CbamView() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const runs = useRuns(image);
  const opacity = useStore((s) => s.view.opacity);
  const model = useMemo(() => computeCbam(models, runs), [models, runs]);
  if (!image) return null;
  if (typeof model === 'string')
    return (
      <p className="text-sm text-slate-400" data-testid="view-empty">
        {model}
      </p>
    );
  const box = imageBox(image, 160);
  return (
    <>
      <p className="text-xs text-slate-400">
        Spatial gates over the image at the mask opacity; raw sigmoid values with each map's own range (a gate may light
        the parts or the belt). Distance: AttnFD's per-site term ‖t/‖t‖ − s/‖s‖‖² (0 same, 2 orthogonal) and cosine,
        against {model.reference}.
      </p>
      {model.sites.map((site) => (
        <div key={site.name} className="mt-3" data-testid={`site-${site.name}`}>
          <h3 className="font-mono text-sm">{site.name}</h3>
          {!site.cards.length && <p className="text-xs text-slate-400">waiting for the models to run…</p>}
          <div className="flex flex-wrap gap-4">
            {site.cards.map((card) => {
              const run = runs[card.modelId];
              return (
                <div key={card.modelId} className="w-60 text-xs" data-testid={`site-card-${card.modelId}`}>
                  <div className="font-mono">{card.modelId}</div>
                  <div className="relative overflow-hidden" style={box}>
                    <Photo image={image} />
                    <Heatmap
                      values={card.spatial.values}
                      grid={card.spatial.grid}
                      testId="spatial"
                      legend={false}
                      className="absolute"
                      style={{
                        ...inputFrameOnImage(run.placement, run.width, run.height),
                        opacity,
                        imageRendering: 'auto',
                      }}
                    />
                  </div>
                  <ColourScale lo={card.spatial.lo} hi={card.spatial.hi} />
                  <NoValueNote values={card.spatial.values} what="gate cells" />
                  <div className="text-slate-400">{card.spatial.upsample} (browser-smoothed)</div>
                  <BarChart items={card.channels} testId="channels" />
                  <div className="text-slate-400">top-12 channel gates of {card.channelCount}</div>
                  {card.distance && (
                    <div
                      className="mt-1"
                      data-testid="distance"
                      data-distance={card.distance.distance}
                      data-cosine={card.distance.cosine}
                    >
                      {!Number.isFinite(card.distance.distance)
                        ? `${card.distance.kind === 'connector' ? 'AttnFD' : 'energy-map'} distance not computable: NaN or infinite values in the compared maps`
                        : card.distance.kind === 'connector'
                          ? `AttnFD distance ${card.distance.distance.toFixed(3)} · cosine ${card.distance.cosine.toFixed(3)} (student through its trained connector)`
                          : `energy-map distance ${card.distance.distance.toFixed(3)} · cosine ${card.distance.cosine.toFixed(3)} (no connector: channel-mean of squares, width-free)`}
                    </div>
                  )}
                </div>
              );
            })}
          </div>
        </div>
      ))}
    </>
  );
}
