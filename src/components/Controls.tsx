import { useState } from 'react';
import { addModelUrl, addUserFiles } from '../app/controller';
import { clearedMessage, clearModelCache } from '../inference/fetchModel';
import { singleThreadReason } from '../inference/threads';
import { ReportButton } from '../share/ReportButton';
import { findImage, useStore } from '../state/store';
import { Slider } from './Slider';

/** Pair picker, sliders, backend, and the image strip (gallery + the user's own images). */
export function Controls() {
  const zoo = useStore((s) => s.zoo);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const images = useStore((s) => s.images);
  const current = useStore((s) => findImage(s.images, s.view.image));
  const showImage = useStore((s) => s.showImage);
  const pairKey = view.models.join(',');
  const [cacheNote, setCacheNote] = useState('');
  // Said once, here, while a model runs on WASM: why it has one thread on any machine (no cross-origin isolation).
  const onWasm = useStore((s) =>
    Object.values(s.slots).some((x) => x?.status === 'ready' && x.model?.backend === 'wasm'),
  );
  const single = singleThreadReason(globalThis.crossOriginIsolated === true, globalThis.isSecureContext !== false);
  return (
    <div className="my-4 space-y-3">
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label>
          models{' '}
          <select
            data-testid="pair"
            className="bg-slate-800 p-1"
            value={pairKey}
            onChange={(e) => setView({ models: e.target.value.split(','), selection: null })}
          >
            {zoo?.pairs.map((p) => (
              <option key={p.label} value={`${p.teacher},${p.student}`}>
                {p.label}
              </option>
            ))}
            {zoo && !zoo.pairs.some((p) => `${p.teacher},${p.student}` === pairKey) && (
              <option value={pairKey}>{pairKey}</option>
            )}
          </select>
        </label>
        <label title="Detections below it are hidden. Until you move it, each detector uses the threshold its contract recommends (chosen on validation data), else 0.5.">
          score threshold{' '}
          <Slider
            testId="threshold"
            min={0}
            max={1}
            step={0.01}
            value={view.threshold ?? 0.5}
            onChange={(threshold) => setView({ threshold })}
          />{' '}
          <span data-testid="threshold-value">
            {view.threshold === null ? 'recommended' : view.threshold.toFixed(2)}
          </span>
          {view.threshold !== null && (
            <button
              type="button"
              className="ml-1 underline"
              data-testid="threshold-reset"
              onClick={() => setView({ threshold: null })}
            >
              use each model's recommended
            </button>
          )}
        </label>
        <label>
          mask opacity{' '}
          <Slider
            testId="opacity"
            min={0}
            max={1}
            step={0.05}
            value={view.opacity}
            onChange={(opacity) => setView({ opacity })}
          />
        </label>
        <label>
          backend{' '}
          <select
            className="bg-slate-800 p-1"
            data-testid="backend"
            value={view.backend}
            onChange={(e) => setView({ backend: e.target.value as 'auto' | 'webgpu' | 'wasm' })}
          >
            <option value="auto">auto (WebGPU if available)</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        {onWasm && single && (
          <span className="text-xs text-slate-500" data-testid="threads-note">
            1 WASM thread: {single}
          </span>
        )}
        <label className="cursor-pointer rounded bg-slate-800 px-2 py-1">
          add images or .onnx…
          <input
            data-testid="file-input"
            type="file"
            accept="image/*,.onnx,.gz,.data,.json"
            multiple
            className="hidden"
            onChange={(e) => {
              void addUserFiles([...(e.target.files ?? [])]);
              e.target.value = '';
            }}
          />
        </label>
        <form
          className="flex gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            const input = e.currentTarget.elements.namedItem('url') as HTMLInputElement;
            if (input.value) void addModelUrl(input.value);
          }}
        >
          <input name="url" data-testid="model-url" placeholder="model URL (.onnx)" className="w-56 bg-slate-800 p-1" />
          <button type="submit" className="rounded bg-slate-800 px-2">
            open
          </button>
        </form>
        <button
          type="button"
          className="rounded bg-slate-800 px-2 py-1"
          data-testid="clear-cache"
          title="Models opened before are kept in this browser's Cache Storage so they open offline; this empties it."
          onClick={() =>
            void clearModelCache().then(
              (r) => setCacheNote(clearedMessage(r)),
              (e: Error) => setCacheNote(`The model cache could not be cleared (${e.message}).`),
            )
          }
        >
          clear model cache
        </button>
        <ReportButton />
        {cacheNote && (
          <span className="text-xs text-slate-400" data-testid="cache-note">
            {cacheNote}
          </span>
        )}
      </div>
      <div className="flex gap-1 overflow-x-auto" data-testid="strip">
        {images.map((img) => (
          <button
            type="button"
            key={img.id}
            title={`${img.name} · ${img.width}×${img.height}${img.original ? ` (scaled from ${img.original.width}×${img.original.height})` : ''}`}
            data-image={img.id}
            onClick={() => showImage(img)}
            className={`h-12 w-12 shrink-0 border-2 bg-slate-900 ${img === current ? 'border-sky-400' : 'border-transparent'}`}
          >
            <img src={img.thumb} alt={img.name} className="h-full w-full object-contain" draggable={false} />
          </button>
        ))}
      </div>
      {current && (
        <p className="text-xs text-slate-400" data-testid="current-image" data-image={current.id}>
          {current.name} · {current.width}×{current.height}
          {current.source === 'user' ? ` · your image (id ${current.id}; stays in this browser)` : ' · gallery'}
        </p>
      )}
    </div>
  );
}
