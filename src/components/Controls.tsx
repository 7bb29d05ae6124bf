import { useStore } from '../state/store';
import { addModelUrl, addUserFiles } from '../app/controller';

/** Pair picker, sliders, backend, and the image strip (gallery + the user's own images). */
export function Controls() {
  const zoo = useStore((s) => s.zoo);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const images = useStore((s) => s.images);
  const current = useStore((s) => s.current);
  const setCurrent = useStore((s) => s.setCurrent);
  const pairKey = view.models.join(',');
  return (
    <div className="my-4 space-y-3">
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label>models{' '}
          <select data-testid="pair" className="bg-slate-800 p-1" value={pairKey}
            onChange={(e) => setView({ models: e.target.value.split(',') })}>
            {zoo?.pairs.map((p) => <option key={p.label} value={`${p.teacher},${p.student}`}>{p.label}</option>)}
            {zoo && !zoo.pairs.some((p) => `${p.teacher},${p.student}` === pairKey) && <option value={pairKey}>{pairKey}</option>}
          </select>
        </label>
        <label>score threshold <input data-testid="threshold" type="range" min={0} max={1} step={0.01} value={view.threshold}
          onChange={(e) => setView({ threshold: Number(e.target.value) })} /> {view.threshold.toFixed(2)}</label>
        <label>mask opacity <input data-testid="opacity" type="range" min={0} max={1} step={0.05} value={view.opacity}
          onChange={(e) => setView({ opacity: Number(e.target.value) })} /></label>
        <label>backend{' '}
          <select className="bg-slate-800 p-1" value={view.backend}
            onChange={(e) => setView({ backend: e.target.value as 'auto' | 'webgpu' | 'wasm' })}>
            <option value="auto">auto (WebGPU if available)</option><option value="webgpu">WebGPU</option><option value="wasm">WASM</option>
          </select>
        </label>
        <label className="cursor-pointer rounded bg-slate-800 px-2 py-1">add images or .onnx…
          <input data-testid="file-input" type="file" accept="image/*,.onnx,.json" multiple className="hidden"
            onChange={(e) => void addUserFiles([...(e.target.files ?? [])])} />
        </label>
        <form className="flex gap-1" onSubmit={(e) => {
          e.preventDefault();
          const input = e.currentTarget.elements.namedItem('url') as HTMLInputElement;
          if (input.value) void addModelUrl(input.value);
        }}>
          <input name="url" data-testid="model-url" placeholder="model URL (.onnx)" className="w-56 bg-slate-800 p-1" />
          <button className="rounded bg-slate-800 px-2">open</button>
        </form>
      </div>
      <div className="flex gap-1 overflow-x-auto" data-testid="strip">
        {images.map((img, i) => (
          <button key={`${img.name}-${i}`} title={img.name} onClick={() => { setCurrent(i); if (img.fromGallery) setView({ sample: img.name }); }}
            className={`shrink-0 border-2 ${i === current ? 'border-sky-400' : 'border-transparent'}`}>
            <Thumb bitmap={img.bitmap} />
          </button>
        ))}
      </div>
    </div>
  );
}

function Thumb({ bitmap }: { bitmap: ImageBitmap }) {
  return <canvas width={48} height={48} className="h-12 w-12"
    ref={(c) => { c?.getContext('2d')?.drawImage(bitmap, 0, 0, 48, 48); }} />;
}
