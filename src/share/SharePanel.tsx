/** Copy link, save the view file, pin findings and step through them, and open review mode. */
import { useEffect, useState } from 'react';
import { useCurrentImage } from '../components/hooks';
import { useStore } from '../state/store';
import { type FindingScope, useFindings, visibleRegion } from './findings';
import { useReview } from './review';
import { currentHash, saveViewFile, shareLink, showFinding } from './share';

export function SharePanel() {
  const [busy, setBusy] = useState(false);
  const [link, setLink] = useState<string | null>(null);
  const [notes, setNotes] = useState<string[]>([]);
  // a link shown for another view would mislead: it goes when the view changes
  const view = useStore((s) => s.view);
  useEffect(() => {
    if (view) {
      setLink(null);
      setNotes([]);
    }
  }, [view]);
  const copy = async () => {
    setBusy(true);
    try {
      const r = await shareLink();
      setNotes(r.notes);
      if (r.kind === 'link') {
        setLink(r.link);
        await navigator.clipboard?.writeText(r.link).catch(() => undefined); // the field below has it too
      } else setLink(null);
    } catch (e) {
      setNotes([`the link could not be made: ${(e as Error).message}`]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="mt-3 space-y-2 text-sm" data-testid="share">
      <div className="flex flex-wrap items-center gap-2">
        <button
          type="button"
          className="rounded bg-sky-700 px-2 py-1 disabled:opacity-40"
          disabled={busy}
          data-testid="share-copy-link"
          onClick={() => void copy()}
        >
          Copy link
        </button>
        <button
          type="button"
          className="rounded bg-slate-700 px-2 py-1"
          data-testid="share-save-file"
          onClick={() => void saveViewFile()}
        >
          Save view file
        </button>
        <button
          type="button"
          className="rounded bg-slate-700 px-2 py-1"
          data-testid="review-open"
          onClick={() => useReview.getState().setOpen(true)}
        >
          Review mode
        </button>
        {link && (
          <input
            readOnly
            className="min-w-0 flex-1 rounded bg-slate-900 px-2 py-1 font-mono text-xs"
            data-testid="share-link"
            data-length={link.length}
            value={link}
            onFocus={(e) => e.currentTarget.select()}
          />
        )}
      </div>
      {notes.map((n) => (
        <p key={n} className="text-amber-300" data-testid="share-note">
          {n}
        </p>
      ))}
      <Findings />
    </section>
  );
}

function Findings() {
  const findings = useFindings((s) => s.findings);
  const at = useFindings((s) => s.at);
  const image = useCurrentImage();
  const [text, setText] = useState('');
  const [scope, setScope] = useState<FindingScope>('view');
  const pin = () => {
    if (!image) return;
    const { zoom } = useStore.getState();
    const added = useFindings.getState().add({
      text,
      scope,
      hash: currentHash(),
      zoom,
      image: { id: image.id, name: image.name },
      region: scope === 'region' ? visibleRegion(zoom, image.width, image.height) : null,
    });
    if (added) setText('');
  };
  const step = (delta: number) => {
    const next = Math.max(0, Math.min(findings.length - 1, at + delta));
    if (findings[next]) showFinding(next);
  };
  return (
    <div className="rounded border border-slate-800 p-2" data-testid="findings">
      <div className="flex flex-wrap items-center gap-2">
        <input
          className="min-w-0 flex-1 rounded bg-slate-900 px-2 py-1"
          placeholder="A finding, e.g. the student misses scratches at the belt edge"
          data-testid="finding-text"
          value={text}
          maxLength={2000}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && pin()}
        />
        <select
          className="rounded bg-slate-900 px-1 py-1"
          data-testid="finding-scope"
          value={scope}
          onChange={(e) => setScope(e.target.value as FindingScope)}
        >
          <option value="view">this view</option>
          <option value="image">this image</option>
          <option value="region">the zoomed region</option>
        </select>
        <button
          type="button"
          className="rounded bg-slate-700 px-2 py-1 disabled:opacity-40"
          disabled={!image || !text.trim()}
          data-testid="finding-pin"
          onClick={pin}
        >
          Pin
        </button>
        {findings.length > 1 && (
          <>
            <button type="button" className="rounded bg-slate-800 px-2 py-1" onClick={() => step(-1)}>
              ◀
            </button>
            <button type="button" className="rounded bg-slate-800 px-2 py-1" onClick={() => step(1)}>
              ▶
            </button>
          </>
        )}
      </div>
      {findings.length > 0 && (
        <ol className="mt-2 list-decimal space-y-1 pl-5">
          {findings.map((f, i) => (
            <li key={f.id} data-testid="finding" data-current={i === at} className={i === at ? 'text-sky-300' : ''}>
              <button type="button" className="text-left hover:underline" onClick={() => showFinding(i)}>
                {f.text}
              </button>{' '}
              <span className="text-slate-500">
                — {f.image.name}, {f.scope === 'region' ? 'a region' : `the ${f.scope}`}
              </span>{' '}
              <button
                type="button"
                className="text-slate-500"
                aria-label="remove finding"
                onClick={() => useFindings.getState().remove(f.id)}
              >
                ×
              </button>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
