"""Procedural factory scenes: metal parts on a conveyor belt, with defects, clutter and lighting shifts.

Every scene is a pure function of (seed, size): the same seed gives the same bytes on any machine, because
all randomness comes from one numpy PCG64 generator and all drawing is integer PIL rasterisation.

Classes are the semantic ids used by every model in the zoo. Parts are deliberately *not* colour-coded
(any part can be steel, zinc or brass), so a model has to read shape, holes and teeth: the probe in
shared/docs/measured.md showed colour-coded parts let a half-width student match its teacher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASS_NAMES = ['background', 'bolt', 'nut', 'washer', 'gear', 'bracket', 'defect']
CLASS_COLORS = ['#1f2430', '#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#f032e6']
DEFECT_CLASS = CLASS_NAMES.index('defect')  # 6
PART_CLASSES = [i for i, n in enumerate(CLASS_NAMES) if n not in ('background', 'defect')]  # [1, 2, 3, 4, 5]
# Every class count in the package is read from here, never typed in:
NUM_CLASSES = len(CLASS_NAMES)  # semantic ids 0..NUM_CLASSES-1, background included: segmentation heads
FOREGROUND_CLASSES = list(range(1, NUM_CLASSES))  # ids of parts and defects: boxes, COCO categories
NUM_LABELS = len(FOREGROUND_CLASSES)  # image-level presence labels and detector classes (background excluded)
SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down, giving anti-aliased edges


@dataclass
class Instance:
    class_id: int
    mask: np.ndarray  # bool [H, W], visible pixels only (occlusion and defects already removed)
    kind: str = ''  # e.g. "scratch", "crack", "missing_hole" for defects

    @property
    def bbox_xywh(self) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(self.mask)
        x0, y0 = int(xs.min()), int(ys.min())
        return x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1


@dataclass
class Scene:
    image: np.ndarray  # uint8 [H, W, 3] RGB
    semantic: np.ndarray  # uint8 [H, W] class ids
    instances: list[Instance] = field(default_factory=list)

    def labels_present(self) -> np.ndarray:
        """Image-level multi-hot labels over the foreground classes (what a weakly supervised model may see)."""
        present = np.zeros(NUM_LABELS, dtype=np.float32)
        for inst in self.instances:
            present[inst.class_id - 1] = 1.0
        return present


def _rot(points: np.ndarray, theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return points @ np.array([[c, s], [-s, c]])


def _circle(r: float, n: int = 28) -> np.ndarray:
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([r * np.cos(a), r * np.sin(a)], 1)


def _poly_mask(size: int, polys: list[np.ndarray], holes: list[np.ndarray]) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of (union of polys) minus (union of holes); coords in pixels."""
    big = Image.new('L', (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    for p in polys:
        draw.polygon([tuple(v) for v in (p * SUPERSAMPLE).round().astype(int).tolist()], fill=255)
    for h in holes:
        draw.polygon([tuple(v) for v in (h * SUPERSAMPLE).round().astype(int).tolist()], fill=0)
    small = big.resize((size, size), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _part_geometry(cls: int, s: float, rng: np.random.Generator):
    """Outline polygons and hole polygons of one part, centred at the origin, unrotated."""
    holes: list[np.ndarray] = []
    if cls == 1:  # bolt: hex head + long shaft
        head = _circle(0.75 * s, 6)
        shaft = np.array([[0, -0.32 * s], [3.2 * s, -0.32 * s], [3.2 * s, 0.32 * s], [0, 0.32 * s]])
        return [head, shaft], holes
    if cls == 2:  # nut: hexagon with a round hole
        holes.append(_circle(0.42 * s, 16))
        return [_circle(s, 6)], holes
    if cls == 3:  # washer: thin ring
        holes.append(_circle(0.58 * s, 24))
        return [_circle(s, 32)], holes
    if cls == 4:  # gear: toothed disc with a bore
        teeth = int(rng.integers(7, 12))
        n = teeth * 4
        a = np.linspace(0, 2 * math.pi, n, endpoint=False)
        r = np.where((np.arange(n) // 2) % 2 == 0, 1.0 * s, 0.78 * s)
        holes.append(_circle(0.28 * s, 12))
        return [np.stack([r * np.cos(a), r * np.sin(a)], 1)], holes
    # bracket: L-shaped plate with two bolt holes
    arm = 2.4 * s
    w = 0.7 * s
    leg1 = np.array([[0, 0], [arm, 0], [arm, w], [0, w]])
    leg2 = np.array([[0, 0], [w, 0], [w, arm], [0, arm]])
    holes.append(_circle(0.2 * s, 10) + [arm - 0.45 * s, w / 2])
    holes.append(_circle(0.2 * s, 10) + [w / 2, arm - 0.45 * s])
    return [leg1 - [arm / 3, arm / 3], leg2 - [arm / 3, arm / 3]], [h - [arm / 3, arm / 3] for h in holes]


def _belt(size: int, rng: np.random.Generator) -> np.ndarray:
    """Textured conveyor belt: base colour, fine noise, longitudinal weave, seams and grime."""
    base = rng.uniform(0.12, 0.42) * np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.05, 0.05, 3)
    img = np.ones((size, size, 3), np.float32) * base
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    theta = rng.uniform(0, math.pi)
    u = xx * math.cos(theta) + yy * math.sin(theta)
    weave = 0.03 * np.sin(u * rng.uniform(0.8, 1.6)) + 0.02 * np.sin(u * rng.uniform(0.2, 0.4))
    img += weave[..., None]
    img += rng.normal(0, rng.uniform(0.01, 0.04), (size, size, 1)).astype(np.float32)
    for _ in range(int(rng.integers(0, 3))):  # seams across the belt
        v = -xx * math.sin(theta) + yy * math.cos(theta)
        c = rng.uniform(v.min(), v.max())
        img[np.abs(v - c) < rng.uniform(0.6, 1.6)] *= 0.65
    return img


def _shade(mask: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], s: float) -> np.ndarray:
    """Metallic colour with a directional gradient and a specular highlight, inside the coverage mask."""
    size = mask.shape[0]
    metal = rng.choice(['steel', 'zinc', 'brass', 'dark'], p=[0.4, 0.25, 0.2, 0.15])
    base = {
        'steel': np.array([0.62, 0.64, 0.67]),
        'zinc': np.array([0.72, 0.72, 0.62]),
        'brass': np.array([0.72, 0.6, 0.32]),
        'dark': np.array([0.33, 0.33, 0.35]),
    }[metal] * rng.uniform(0.8, 1.15)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    phi = rng.uniform(0, 2 * math.pi)
    grad = ((xx - centre[0]) * math.cos(phi) + (yy - centre[1]) * math.sin(phi)) / max(s, 1.0)
    spec = np.exp(-(((xx - centre[0] - 0.3 * s) ** 2 + (yy - centre[1] + 0.3 * s) ** 2) / (0.5 * s * s + 1)))
    col = base[None, None, :] * (1 + 0.12 * grad[..., None]) + 0.25 * spec[..., None]
    return col.astype(np.float32)


def _defect(part_mask: np.ndarray, rng: np.random.Generator, centre, s: float, cls: int):
    """A scratch (thin bright line) or crack (dark jagged line) inside a part; returns (kind, mask, colour)."""
    size = part_mask.shape[0]
    kind = rng.choice(['scratch', 'crack'])
    img = Image.new('L', (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(img)
    ang = rng.uniform(0, 2 * math.pi)
    length = rng.uniform(1.0, 2.2) * s
    start = np.array(centre) + rng.uniform(-0.5, 0.5, 2) * s
    if kind == 'scratch':
        pts = [start, start + length * np.array([math.cos(ang), math.sin(ang)])]
    else:
        pts = [start]
        for _ in range(5):
            ang += rng.uniform(-0.9, 0.9)
            pts.append(pts[-1] + (length / 5) * np.array([math.cos(ang), math.sin(ang)]))
    width = int(SUPERSAMPLE * rng.uniform(1.0, 1.6))
    draw.line([tuple((p * SUPERSAMPLE).tolist()) for p in pts], fill=255, width=width)
    cover = np.asarray(img.resize((size, size), Image.BOX), dtype=np.float32) / 255.0
    cover = cover * (part_mask > 0.5)
    colour = np.array([0.95, 0.95, 0.92]) if kind == 'scratch' else np.array([0.08, 0.07, 0.06])
    return str(kind), cover, colour


def render_scene(seed: int, size: int = 160, n_parts: tuple[int, int] = (3, 9)) -> Scene:
    rng = np.random.Generator(np.random.PCG64(seed))
    img = _belt(size, rng)
    semantic = np.zeros((size, size), np.uint8)
    owner = -np.ones((size, size), np.int32)  # which instance owns each pixel (later parts occlude)
    instances: list[Instance] = []
    part_masks: list[np.ndarray] = []

    # Clutter first: oil stains, paper scraps, tape — belt-coloured distractors that are background.
    for _ in range(int(rng.integers(1, 6))):
        c = rng.uniform(0, size, 2)
        kind = rng.choice(['stain', 'scrap', 'tape'])
        if kind == 'stain':
            poly = _circle(rng.uniform(4, 14), 12) * rng.uniform(0.6, 1.4, (12, 1)) + c
            col = np.array([0.05, 0.05, 0.04]) + rng.uniform(0, 0.1)
            alpha = 0.55
        else:
            w, h = rng.uniform(3, 14), rng.uniform(2, 8) if kind == 'tape' else rng.uniform(3, 12)
            poly = _rot(np.array([[-w, -h], [w, -h], [w, h], [-w, h]]), rng.uniform(0, math.pi)) + c
            col = rng.uniform(0.4, 0.85, 3) if kind == 'scrap' else np.array([0.75, 0.62, 0.25])
            alpha = 0.85
        cov = _poly_mask(size, [poly], [])
        img = img * (1 - alpha * cov[..., None]) + alpha * cov[..., None] * col

    count = int(rng.integers(n_parts[0], n_parts[1] + 1))
    for _ in range(count):
        cls = int(rng.choice(PART_CLASSES))
        s = float(rng.uniform(4.5, 12.0))
        centre = rng.uniform(0.08 * size, 0.92 * size, 2)
        theta = rng.uniform(0, 2 * math.pi)
        polys, holes = _part_geometry(cls, s, rng)
        missing_hole = bool(holes) and rng.random() < 0.12
        polys = [_rot(p, theta) + centre for p in polys]
        holes = [_rot(h, theta) + centre for h in holes]
        cover = _poly_mask(size, polys, [] if missing_hole else holes)
        # Drop shadow, offset away from the light, sells depth and makes edges less trivial.
        shadow = np.roll(cover, (1, 1), (0, 1))
        img *= (1 - 0.35 * shadow)[..., None]
        col = _shade(cover, rng, (float(centre[0]), float(centre[1])), s)
        img = img * (1 - cover[..., None]) + col * cover[..., None]
        hard = cover > 0.5
        if hard.sum() < 6:
            continue
        idx = len(instances)
        owner[hard] = idx
        semantic[hard] = cls
        instances.append(Instance(cls, hard))
        part_masks.append(hard)

        if missing_hole:  # the hole that should be there is a defect region (filled, slightly darker)
            hole_cover = _poly_mask(size, holes, [])
            img = img * (1 - 0.3 * hole_cover[..., None])
            hole_hard = (hole_cover > 0.5) & hard
            if hole_hard.sum() >= 2:
                instances.append(Instance(DEFECT_CLASS, hole_hard, 'missing_hole'))
                owner[hole_hard] = len(instances) - 1
        elif rng.random() < 0.4:
            kind, dcover, dcol = _defect(cover, rng, (float(centre[0]), float(centre[1])), s, cls)
            img = img * (1 - dcover[..., None]) + dcover[..., None] * dcol
            dhard = dcover > 0.35
            if dhard.sum() >= 3:
                instances.append(Instance(DEFECT_CLASS, dhard, kind))
                owner[dhard] = len(instances) - 1

    # Visible masks: each instance keeps only the pixels it still owns after everything drawn on top.
    visible: list[Instance] = []
    for i, inst in enumerate(instances):
        m = owner == i
        if inst.class_id != DEFECT_CLASS:
            # a defect sits *on* its part: the part's instance mask keeps those pixels, semantic does not
            m = m | (
                inst.mask
                & (owner >= 0)
                & np.isin(owner, [j for j, o in enumerate(instances) if o.class_id == DEFECT_CLASS])
            )
        if m.sum() >= 3:
            visible.append(Instance(inst.class_id, m, inst.kind))
    semantic[:] = 0
    for inst in visible:
        if inst.class_id != DEFECT_CLASS:
            semantic[inst.mask] = inst.class_id
    for inst in visible:
        if inst.class_id == DEFECT_CLASS:
            semantic[inst.mask] = DEFECT_CLASS

    # Global lighting: a brightness/contrast shift, a gradient across the frame, vignetting, sensor noise.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    phi = rng.uniform(0, 2 * math.pi)
    light = 1 + rng.uniform(0.0, 0.45) * ((xx - 0.5) * math.cos(phi) + (yy - 0.5) * math.sin(phi))
    vignette = 1 - rng.uniform(0.0, 0.35) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 2
    img = img * (light * vignette)[..., None] * rng.uniform(0.65, 1.3) + rng.uniform(-0.06, 0.06, 3)
    img = img + rng.normal(0, rng.uniform(0.005, 0.03), img.shape)
    out = Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8))
    if rng.random() < 0.3:  # mild motion/focus blur
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    return Scene(np.asarray(out), semantic, visible)


SPLITS = {
    'train': (1_000_000, 4000),
    'val': (2_000_000, 300),
    'test': (3_000_000, 400),
    # A ViT learns here from image-level labels only. With 3-9 parts of 5 kinds nearly every label is
    # "present" in nearly every image and says little; this split (same generator, 1-3 parts a scene)
    # makes each label informative, so attention has to find the parts that carry it.
    'train-sparse': (4_000_000, 4000),
}
PARTS_PER_SCENE = {'train-sparse': (1, 3)}


def split_seed(split: str, index: int) -> int:
    return SPLITS[split][0] + index


def render_split_scene(split: str, index: int, size: int = 160) -> Scene:
    return render_scene(split_seed(split, index), size, PARTS_PER_SCENE.get(split, (3, 9)))
