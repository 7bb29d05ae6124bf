import { useEffect, useState } from 'react';
import type { Coco } from '../analysis/groundTruth';
import { loadGalleryCoco } from '../app/controller';

/** The gallery's COCO document (boxes and RLE masks), null until fetched or when it is missing. */
export function useGalleryCoco(): Coco | null {
  const [coco, setCoco] = useState<Coco | null>(null);
  useEffect(() => void loadGalleryCoco().then(setCoco), []);
  return coco;
}
