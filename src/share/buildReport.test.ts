/** The report builder's failure paths (no DOM needed): it names what failed and puts the user's view back. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ImageEntry, useStore } from '../state/store';
import { encodeView } from '../state/viewState';
import { buildReport } from './buildReport';
import { useFindings } from './findings';

const image = (name: string): ImageEntry => ({
  id: `${name}-id`,
  name,
  blob: new Blob([]),
  url: '',
  thumb: '',
  width: 4,
  height: 4,
  original: null,
  source: 'gallery',
});

const pin = (models: string[], sample: string, text: string) => {
  const view = { ...useStore.getState().view, models, image: { sample } };
  useFindings.getState().add({
    text,
    scope: 'view',
    hash: encodeView(view),
    zoom: { k: 2, x: -10, y: -5 },
    image: { id: `${sample}-id`, name: sample },
    region: null,
  });
};

describe('building the report', () => {
  beforeEach(() => {
    useStore.setState({
      images: [image('a.png'), image('b.png')],
      view: { ...useStore.getState().view, models: ['m1'], image: { sample: 'a.png' }, opacity: 0.3 },
      zoom: { k: 1.5, x: 3, y: 4 },
      slots: {},
      runs: {},
    });
    useFindings.getState().replace([]);
  });
  afterEach(() => vi.useRealTimers());

  it('names the finding and the model that failed, and leaves the view and zoom as they were', async () => {
    const { view, zoom } = useStore.getState();
    useStore.getState().setSlot('broken', { status: 'error', error: 'its file is not an ONNX model' });
    pin(['broken'], 'b.png', 'the student <b>misses</b> scratches');
    const progress: [number, number][] = [];
    await expect(buildReport((done, total) => progress.push([done, total]))).rejects.toThrow(
      'finding 1 “the student <b>misses</b> scratches” on b.png: broken: its file is not an ONNX model',
    );
    expect(progress).toEqual([[0, 1]]);
    expect(useStore.getState().view).toEqual(view);
    expect(useStore.getState().zoom).toEqual(zoom);
  });

  it('gives up on an image that is not open, saying which', async () => {
    vi.useFakeTimers();
    const { view } = useStore.getState();
    pin(['m1'], 'missing.png', 'look here');
    const built = buildReport(() => undefined);
    const failed = expect(built).rejects.toThrow(
      /finding 1 “look here” on missing\.png: waited 10 s for the image missing\.png to open/,
    );
    await vi.advanceTimersByTimeAsync(11_000);
    await failed;
    expect(useStore.getState().view).toEqual(view);
  });

  it('without findings, waits on the current view and says what it waits for', async () => {
    vi.useFakeTimers();
    const built = buildReport(() => undefined);
    const failed = expect(built).rejects.toThrow(/the current view did not draw: waited 180 s for m1 to run on a\.png/);
    await vi.advanceTimersByTimeAsync(181_000);
    await failed;
  });
});
