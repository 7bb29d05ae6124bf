/** The one place a link's unusable values are named: under the controls, one line each, closable. */
import { useMemo } from 'react';
import { viewNotes } from '../app/linkCheck';
import { useLinkNotes } from '../state/linkNotes';
import { useStore } from '../state/store';
import { useCurrentImage, useModelsInView } from './hooks';

export function LinkNotice() {
  const { notes, dismissed, dismiss } = useLinkNotes();
  const models = useModelsInView();
  const image = useCurrentImage();
  const view = useStore((s) => s.view);
  const imagesKnown = useStore((s) => s.images.length > 0);
  const derived = useMemo(() => viewNotes(view, models, image, imagesKnown), [view, models, image, imagesKnown]);
  const all = [...notes, ...derived.filter((n) => !notes.includes(n))];
  if (dismissed || !all.length) return null;
  return (
    <div
      role="alert"
      className="my-2 rounded border border-amber-700 bg-amber-950/50 p-2 text-sm"
      data-testid="link-notice"
    >
      <div className="flex justify-between">
        <span className="font-semibold">This link names things this page cannot show as named:</span>
        <button type="button" onClick={dismiss} aria-label="dismiss the link notice">
          ×
        </button>
      </div>
      <ul className="ml-4 list-disc">
        {all.map((n) => (
          <li key={n} data-testid="link-note">
            {n}
          </li>
        ))}
      </ul>
      <p className="text-xs text-slate-400">Everything else in the link is shown as it says.</p>
    </div>
  );
}
