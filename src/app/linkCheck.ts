/**
 * A link's values checked against what exists (pure): model ids against the zoo, a ViT layer against the
 * model's layers, a selected query against its block, a point against the image. Each value that does not
 * exist is named in words ("the link names layer 99 but vit-attn has 5 layers (0–4): showing layer 4") for
 * the link notice, never clamped or dropped silently; the rest of the link is honoured.
 */
import { encoderAttention, queryBlock } from '../methods/detr/contract';
import type { ModelInView } from '../methods/types';
import { vitAttention } from '../methods/vit/index';
import { count, quote, sample } from '../state/linkCodec';
import type { ViewState } from '../state/viewState';

/** Models in a link the app cannot open: not in the zoo and not a model file open in this tab. */
export function unknownModels(
  models: string[],
  inZoo: (id: string) => boolean,
  openHere: (id: string) => boolean,
  localPrefix: string,
  fallback: string[],
): { keep: string[]; notes: string[] } {
  const keep = models.filter((id) => inZoo(id) || openHere(id));
  const local = models.filter((id) => !keep.includes(id) && id.startsWith(localPrefix));
  const absent = models.filter((id) => !keep.includes(id) && !local.includes(id));
  const notes: string[] = [];
  if (absent.length === 1) notes.push(`the link names the model "${absent[0]}", which the zoo does not have: left out`);
  else if (absent.length)
    notes.push(`the link names ${count(absent.length)} models the zoo does not have (${sample(absent, 8)}): left out`);
  for (const id of local)
    notes.push(
      `the link names "${id}", a model file opened in another tab or before a reload: links cannot carry model files, so it is left out — drop the file here again`,
    );
  if (!keep.length && (absent.length || local.length)) {
    notes.push(`none of the link's models can be opened: showing ${fallback.join(' and ')} instead`);
    return { keep: fallback, notes };
  }
  return { keep, notes };
}

const ranged = (n: number, one: string, many: string) =>
  `${count(n)} ${n === 1 ? one : many} (${n === 1 ? '0' : `0–${n - 1}`})`;
const blockWords = (b: string) => b.replace(/_/g, '-');

/**
 * Values in the view that name something the loaded models or the image do not have. Derived from the view, so
 * a note goes away when the user picks a value that exists (and the link changes with it).
 */
export function viewNotes(
  view: Pick<ViewState, 'models' | 'selection' | 'methods' | 'image'>,
  models: ModelInView[],
  image: { width: number; height: number } | undefined,
  /** Whether the open images are known (the gallery has loaded): until then no image is missing yet. */
  imagesKnown: boolean,
): string[] {
  const notes: string[] = [];
  const link = view.image;
  if (link && 'hash' in link && !image && imagesKnown)
    notes.push(
      `the link shows your own image ${link.name ? `${quote(link.name)} ` : ''}(id ${link.hash}), which is not open in this tab: images never leave the browser that opened them. Drop the same file here and the view opens on it`,
    );
  const vit = models.find((m) => vitAttention(m.contract));
  const layer = view.methods.vit.layer;
  if (vit) {
    const layers = vitAttention(vit.contract)!.rows.shape[1];
    if (Number.isInteger(layers) && layers > 0 && layer >= layers)
      notes.push(
        `the link names layer ${layer} but ${vit.id} has ${ranged(layers, 'layer', 'layers')}: showing layer ${layers - 1}`,
      );
  }
  const sel = view.selection;
  if (sel) {
    const m = models.find((x) => x.id === sel.model);
    if (!view.models.includes(sel.model))
      notes.push(`the link selects query ${sel.query} of ${sel.model}, which is not in the view: no query is selected`);
    else if (m) {
      const block = queryBlock(m.contract, sel.block);
      const queries = block?.logits.shape[1];
      if (!block)
        notes.push(
          `the link selects query ${sel.query} of ${sel.model}'s ${blockWords(sel.block)} block, but ${sel.model} has no ${blockWords(sel.block)} block: no query is selected`,
        );
      else if (typeof queries === 'number' && sel.query >= queries)
        notes.push(
          `the link selects query ${sel.query} of ${sel.model}'s ${blockWords(sel.block)} block, which has ${ranged(queries, 'query', 'queries')}: no query is selected`,
        );
    }
  }
  const point = view.methods.ks.point;
  if (point && image && models.some((m) => encoderAttention(m.contract))) {
    const [x, y] = point;
    if (x > image.width || y > image.height)
      notes.push(
        `the link's KS-DETR point (${x}, ${y}) is outside the image (${image.width}×${image.height}): no location is picked`,
      );
  }
  return notes;
}
