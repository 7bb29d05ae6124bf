"""The app's model input, emulated in numpy: where an image lands in the model's input frame (placement, as
src/analysis/geometry.ts), the canvas the app draws it on, and the normalised tensor (src/inference/preprocess.ts).

The canvas: filled with letterbox_fill (letterbox) or not at all (stretch), then the image drawn with bilinear
sampling at pixel centres (source coordinate (u + 0.5 − offset)/scale − 0.5, edges clamped), pixels the image
covers only partly blended with the fill by coverage, rounded to uint8. Where the image already has the input's
size (the bundled gallery) this is the image itself, byte for byte, as in the browser; elsewhere the browser's
resampler differs slightly (see tests/fixtures/letterbox/reference.json for the measured tolerance).
"""

from __future__ import annotations

import numpy as np


def placement(w: int, h: int, inp: dict) -> dict:
    """src/analysis/geometry.ts placement()."""
    in_h, in_w = inp['shape'][2:4] if inp.get('layout', 'NCHW') == 'NCHW' else inp['shape'][1:3]
    if inp['resize'] == 'stretch':
        return {
            'inputWidth': in_w,
            'inputHeight': in_h,
            'offsetX': 0.0,
            'offsetY': 0.0,
            'scaleX': in_w / w,
            'scaleY': in_h / h,
        }
    s = min(in_w / w, in_h / h)
    return {
        'inputWidth': in_w,
        'inputHeight': in_h,
        'offsetX': (in_w - w * s) / 2,
        'offsetY': (in_h - h * s) / 2,
        'scaleX': s,
        'scaleY': s,
    }


def _axis(n_out: int, n_src: int, offset: float, scale: float):
    """Per output pixel along one axis: the two source indices, their weights, and the image's coverage."""
    u = np.arange(n_out, dtype=np.float64)
    src = (u + 0.5 - offset) / scale - 0.5
    i0 = np.floor(src)
    frac = src - i0
    lo = np.clip(i0, 0, n_src - 1).astype(int)
    hi = np.clip(i0 + 1, 0, n_src - 1).astype(int)
    cover = np.clip(np.minimum(u + 1, offset + n_src * scale) - np.maximum(u, offset), 0, 1)
    return lo, hi, frac, cover


def letterbox(image: np.ndarray, p: dict, fill: list[int]) -> np.ndarray:
    """The canvas the app draws: fill, then the image drawn bilinearly into its placement; uint8 [H, W, 3]."""
    h, w, _ = image.shape
    img = image.astype(np.float64)
    x0, x1, fx, cx = _axis(p['inputWidth'], w, p['offsetX'], p['scaleX'])
    y0, y1, fy, cy = _axis(p['inputHeight'], h, p['offsetY'], p['scaleY'])
    rows = img[y0] * (1 - fy)[:, None, None] + img[y1] * fy[:, None, None]
    sampled = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    cover = (cy[:, None] * cx[None, :])[..., None]
    out = sampled * cover + np.array(fill, np.float64) * (1 - cover)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def model_input(image: np.ndarray, inp: dict) -> tuple[np.ndarray, dict]:
    """An RGB uint8 [h, w, 3] image → (the float32 tensor the app feeds, its placement)."""
    h, w, _ = image.shape
    p = placement(w, h, inp)
    same = p['inputWidth'] == w and p['inputHeight'] == h
    canvas = image if same else letterbox(image, p, inp.get('letterbox_fill', [114, 114, 114]))
    return to_tensor(canvas, inp), p


def to_tensor(rgb: np.ndarray, inp: dict) -> np.ndarray:
    """src/inference/preprocess.ts toTensor(): colour order, (v / scale − mean) / std in float64, then float32."""
    x = rgb.astype(np.float64)
    if inp.get('color', 'RGB') == 'BGR':
        x = x[..., ::-1]
    x = (x / inp['scale'] - np.array(inp['mean'], np.float64)) / np.array(inp['std'], np.float64)
    if inp.get('layout', 'NCHW') == 'NCHW':
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None], dtype=np.float32)
