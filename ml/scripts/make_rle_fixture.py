"""Write src/analysis/fixtures/coco-rle.json: binary masks and what pycocotools makes of them, the reference for
src/analysis/rle.ts (tested in src/analysis/rle.test.ts).

    cd ml && .venv/bin/python scripts/make_rle_fixture.py

`polygons`: COCO polygon segmentations (one object, one or more parts) and the counts of pycocotools' raster
(frPyObjects, then merge), the reference for the polygon rasteriser in rle.ts.

Each case: size [h, w], the mask as base64 of np.packbits(mask.ravel()) (row-major, MSB first), and pycocotools'
uncompressed counts (column-major, starting with a run of zeros), compressed string counts, area and bbox.
pycocotools has no public call that returns integer counts, so they are read off pycocotools' decode of its own
string; each case then asserts that pycocotools' frPyObjects turns those counts back into exactly its string.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from pycocotools import mask as maskUtils

OUT = Path(__file__).resolve().parents[2] / 'src' / 'analysis' / 'fixtures' / 'coco-rle.json'


def uncompressed_counts(rle: dict, h: int, w: int) -> list[int]:
    """Run lengths of pycocotools' decode of `rle`, column-major, starting with zeros (COCO's convention)."""
    flat = maskUtils.decode(rle).ravel(order='F')
    counts, run, value = [], 0, 0
    for v in flat:
        if v != value:
            counts.append(run)
            run, value = 0, v
        run += 1
    counts.append(run)
    return counts


def case(name: str, mask: np.ndarray) -> dict:
    mask = mask.astype(np.uint8)
    h, w = mask.shape
    rle = maskUtils.encode(np.asfortranarray(mask))
    counts = uncompressed_counts(rle, h, w)
    # frPyObjects on the uncompressed form must give pycocotools' string back: the two forms agree.
    again = maskUtils.frPyObjects({'size': [h, w], 'counts': counts}, h, w)
    assert again['counts'] == rle['counts'], name
    assert (maskUtils.decode(rle) == mask).all(), name
    return {
        'name': name,
        'size': [h, w],
        'mask_packbits': base64.b64encode(np.packbits(mask.ravel())).decode(),
        'counts': counts,
        'compressed': rle['counts'].decode('ascii'),
        'area': int(maskUtils.area(rle)),
        'bbox': [float(v) for v in maskUtils.toBbox(rle)],
    }


def polygon_case(name: str, polygons: list[list[float]], h: int, w: int) -> dict:
    """COCO polygons (one object, maybe several parts) as pycocotools rasterises them: frPyObjects, then merge."""
    rle = maskUtils.merge(maskUtils.frPyObjects(polygons, h, w))
    return {'name': name, 'size': [h, w], 'polygons': polygons, 'counts': uncompressed_counts(rle, h, w)}


def polygon_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        polygon_case('triangle', [[2.0, 2.0, 17.5, 4.2, 8.3, 15.9]], 20, 24),
        polygon_case('square on pixel centres', [[3, 3, 10, 3, 10, 10, 3, 10]], 14, 14),
        polygon_case('square on pixel edges', [[2.5, 2.5, 9.5, 2.5, 9.5, 9.5, 2.5, 9.5]], 14, 14),
        polygon_case('thin sliver', [[0.2, 5.1, 30.7, 5.4, 30.7, 5.9, 0.2, 5.5]], 12, 32),
        polygon_case('outside the image, clipped', [[-5.0, -3.0, 40.0, 2.0, 38.0, 30.0, -2.0, 25.0]], 22, 33),
        polygon_case('two parts of one object', [[1, 1, 6, 1, 6, 6], [10.2, 8.8, 15.7, 9.1, 12.0, 14.6]], 18, 18),
        polygon_case('concave', [[2, 2, 20, 2, 20, 18, 11, 8, 2, 18]], 21, 23),
    ]
    for k in range(8):  # random star-shaped polygons at fractional coordinates
        h, w = int(rng.integers(8, 60)), int(rng.integers(8, 60))
        n = int(rng.integers(3, 12))
        angles = np.sort(rng.random(n) * 2 * np.pi)
        radii = 0.15 + rng.random(n) * 0.5
        cx, cy = w * (0.3 + 0.4 * rng.random()), h * (0.3 + 0.4 * rng.random())
        xy = np.stack([cx + radii * w * np.cos(angles), cy + radii * h * np.sin(angles)], 1).ravel()
        cases.append(polygon_case(f'random {k} ({h}x{w})', [[round(float(v), 2) for v in xy]], h, w))
    return cases


def main() -> None:
    rng = np.random.default_rng(20240611)
    cases = [
        case('1x1 empty', np.zeros((1, 1))),
        case('1x1 full', np.ones((1, 1))),
        case('1x7 row', np.array([[0, 1, 1, 0, 1, 0, 1]])),
        case('7x1 column', np.array([[1], [1], [0], [0], [1], [0], [0]])),
        case('3x5 first pixel set', np.array([[1, 0, 0, 1, 1], [0, 0, 1, 1, 0], [1, 1, 1, 0, 1]])),
        case('4x6 empty', np.zeros((4, 6))),
        case('6x4 full', np.ones((6, 4))),
        case('9x11 checkerboard', (np.add.outer(np.arange(9), np.arange(11)) % 2)),
        case('13x17 random 0.5', rng.random((13, 17)) < 0.5),
        case('31x29 random sparse', rng.random((31, 29)) < 0.05),
        case('29x31 random dense', rng.random((29, 31)) < 0.95),
        case('last pixel only 5x3', np.pad(np.ones((1, 1)), ((4, 0), (2, 0)))),
    ]
    # A ViT pseudo-mask at image resolution: 20x20 patches of 8 px upsampled nearest (what VitView exports).
    patches = rng.random((20, 20)) < 0.3
    cases.append(case('160x160 patch mask', np.kron(patches, np.ones((8, 8)))))
    # Long runs: one small blob in a large image (multi-character counts, negative deltas).
    big = np.zeros((361, 479))
    big[200:203, 300:302] = 1
    big[17, 5] = 1
    cases.append(case('361x479 two blobs', big))
    blobs = np.zeros((97, 131))
    yy, xx = np.mgrid[:97, :131]
    for cy, cx, r in [(20, 30, 12), (60, 90, 25), (80, 15, 9)]:
        blobs[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1
    cases.append(case('97x131 discs', blobs))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                'generator': 'ml/scripts/make_rle_fixture.py',
                'pycocotools': True,
                'cases': cases,
                'polygons': polygon_cases(np.random.default_rng(7)),
            },
            separators=(',', ':'),
        )
        + '\n'
    )
    print(f'wrote {OUT} ({len(cases)} cases)')


if __name__ == '__main__':
    main()
