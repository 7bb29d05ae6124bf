"""Shared training plumbing: device choice, normalisation, resumable checkpoints, seeded batches."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

RUNS = Path(__file__).resolve().parents[1] / "runs"
# Input normalisation every zoo model uses; written into each contract, so the app never assumes it.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    torch.set_num_threads(int(os.environ.get("ATTNLENS_THREADS", os.cpu_count() or 2)))
    return torch.device("cpu")


def to_input(images_uint8: np.ndarray, dev: torch.device) -> torch.Tensor:
    """uint8 [B,H,W,3] → normalised float [B,3,H,W] (channels_last on CPU: ~2.5× faster convs)."""
    x = torch.from_numpy(images_uint8).to(dev).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(MEAN, device=dev)[:, None, None]) / torch.tensor(STD, device=dev)[:, None, None]
    return x.contiguous(memory_format=torch.channels_last)


def batch_indices(n: int, batch: int, step: int, seed: int) -> np.ndarray:
    """The batch for a given step depends only on (seed, step): a resumed run sees the same data."""
    return np.random.default_rng([seed, step]).choice(n, batch, replace=False)


def augment(images: np.ndarray, masks: np.ndarray | None, step: int, seed: int):
    """Flip and rotate by 90°, the same for image and mask (parts have no canonical orientation)."""
    rng = np.random.default_rng([seed, step, 7])
    k = int(rng.integers(0, 4))
    flip = bool(rng.integers(0, 2))
    images = np.rot90(images, k, axes=(1, 2))
    masks = None if masks is None else np.rot90(masks, k, axes=(1, 2))
    if flip:
        images = images[:, :, ::-1]
        masks = None if masks is None else masks[:, :, ::-1]
    return np.ascontiguousarray(images), None if masks is None else np.ascontiguousarray(masks)


def cosine_lr(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class Checkpointer:
    """Saves model/optimiser/step every `every` steps; `done.json` marks a finished run (skipped next time)."""

    def __init__(self, name: str, every: int = 200):
        self.dir = RUNS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.every = every
        self.t0 = time.time()

    @property
    def done(self) -> dict | None:
        p = self.dir / "done.json"
        return json.loads(p.read_text()) if p.exists() else None

    def resume(self, modules: dict[str, torch.nn.Module | torch.optim.Optimizer]) -> int:
        p = self.dir / "ckpt.pt"
        if not p.exists():
            return 0
        state = torch.load(p, map_location="cpu")
        for k, m in modules.items():
            m.load_state_dict(state[k])
        print(f"[{self.dir.name}] resumed at step {state['step']}", flush=True)
        return int(state["step"])

    def maybe_save(self, step: int, modules) -> None:
        if step % self.every == 0:
            self.save(step, modules)

    def save(self, step: int, modules) -> None:
        state = {k: m.state_dict() for k, m in modules.items()}
        state["step"] = step
        torch.save(state, self.dir / "ckpt.tmp")
        os.replace(self.dir / "ckpt.tmp", self.dir / "ckpt.pt")

    def finish(self, model: torch.nn.Module, info: dict) -> dict:
        torch.save(model.state_dict(), self.dir / "model.pt")
        info = {**info, "wall_seconds_this_process": round(time.time() - self.t0, 1)}
        (self.dir / "done.json").write_text(json.dumps(info, indent=2))
        return info

    def log(self, msg: str) -> None:
        line = f"[{self.dir.name} {time.time() - self.t0:7.1f}s] {msg}"
        print(line, flush=True)
        with open(self.dir / "log.txt", "a") as f:
            f.write(line + "\n")
