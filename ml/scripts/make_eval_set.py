"""A data set to evaluate: the first N scenes of a split as PNGs plus a COCO file (boxes and RLE masks).

    ml/.venv/bin/python ml/scripts/make_eval_set.py OUT_DIR [--count 200] [--split test] [--start 0]

The gallery is the first 16 of the test split (--start 16: none of them); the model cards' `test` numbers are over
the first 400.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.data import render_split_scene  # noqa: E402
from attnlens_ml.dataset import coco_document, write_coco  # noqa: E402


def make_set(out: Path, count: int, split: str = 'test', start: int = 0) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    scenes = [render_split_scene(split, i) for i in range(start, start + count)]
    names = [f'{split}-{i:04d}.png' for i in range(start, start + count)]
    for scene, name in zip(scenes, names):
        Image.fromarray(scene.image).save(out / name)
    write_coco(out / 'coco.json', coco_document(scenes, names))
    return out / 'coco.json'


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('out', type=Path)
    ap.add_argument('--count', type=int, default=200)
    ap.add_argument('--split', default='test')
    ap.add_argument('--start', type=int, default=0)
    a = ap.parse_args()
    print(make_set(a.out, a.count, a.split, a.start))
