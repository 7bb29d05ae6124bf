/** Which ground truth the numbers under the panes use for an image (pure): the user's boxes, else the gallery's. */
import type { Coco, GtObject } from '../analysis/groundTruth';
import type { ImageEntry } from '../state/store';
import type { ImageTruth } from './agreement';
import { galleryObjects } from './gallery';

/** The boxes the user drew on the image when there are any, else a gallery sample's COCO objects, else none. */
export function imageTruth(image: ImageEntry, drawn: GtObject[] | undefined, coco: Coco | null): ImageTruth | null {
  if (drawn?.length) return { label: 'the boxes you drew', objects: drawn };
  const g = galleryObjects(coco, image);
  return g ? { label: 'ground truth (gallery COCO)', objects: g } : null;
}
