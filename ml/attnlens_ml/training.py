"""The one training loop of the package: every trainer (train_seg, train_vit, train_detr, train_sak) states
its model and loss as a `Job`; `train` does the rest, the same way for all of them:

- threads and device (`device`: CUDA when present, else ATTNLENS_THREADS or every core for PyTorch);
- seeding: torch.manual_seed(seed) before the job is built (so model initialisation depends on the seed
  only), batches and augmentation keyed on (seed, step) (`batch_indices`, `augment`);
- AdamW with a linear warm-up and cosine decay of the learning rate (`cosine_lr`), optional gradient-norm
  clipping of the job's model;
- resumable checkpoints in ml/runs/<name>/ (`Checkpointer`): model(s), optimiser, step and the torch RNG
  state every 200 steps; `done.json` marks a finished run, which is skipped next time. An interrupted run
  resumed from its checkpoint ends with the same weights as one that was never interrupted;
- the step loop with a log line every 50 steps (console and ml/runs/<name>/log.txt) and optional periodic
  validation; the final validation and `done.json` come from the job.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import common


def device() -> torch.device:
    """CUDA when PyTorch sees a GPU; else the CPU with ATTNLENS_THREADS (default: every core) threads."""
    if torch.cuda.is_available():
        return torch.device('cuda')
    torch.set_num_threads(int(os.environ.get('ATTNLENS_THREADS', os.cpu_count() or 2)))
    return torch.device('cpu')


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
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class Checkpointer:
    """Saves model/optimiser/step (and the torch RNG state) every `every` steps to ml/runs/<name>/ckpt.pt;
    `done.json` marks a finished run (skipped next time)."""

    def __init__(self, name: str, every: int = 200):
        self.dir = run_dir(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.every = every
        self.t0 = time.time()

    @property
    def done(self) -> dict | None:
        return finished(self.dir.name)

    def resume(self, modules: dict[str, torch.nn.Module | torch.optim.Optimizer]) -> int:
        p = self.dir / 'ckpt.pt'
        if not p.exists():
            return 0
        state = torch.load(p, map_location='cpu')
        for k, m in modules.items():
            m.load_state_dict(state[k])
        if 'rng' in state:  # checkpoints written before the RNG state was saved resume without it
            torch.set_rng_state(state['rng'])
            if 'cuda_rng' in state and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state['cuda_rng'])
        print(f'[{self.dir.name}] resumed at step {state["step"]}', flush=True)
        return int(state['step'])

    def maybe_save(self, step: int, modules) -> None:
        if step % self.every == 0:
            self.save(step, modules)

    def save(self, step: int, modules) -> None:
        state = {k: m.state_dict() for k, m in modules.items()}
        state['step'] = step
        state['rng'] = torch.get_rng_state()  # SAK's router noise draws from it during training
        if torch.cuda.is_available():
            state['cuda_rng'] = torch.cuda.get_rng_state_all()
        torch.save(state, self.dir / 'ckpt.tmp')
        os.replace(self.dir / 'ckpt.tmp', self.dir / 'ckpt.pt')

    def finish(self, model: torch.nn.Module, info: dict) -> dict:
        torch.save(model.state_dict(), self.dir / 'model.pt')
        info = {**info, 'wall_seconds_this_process': round(time.time() - self.t0, 1)}
        (self.dir / 'done.json').write_text(json.dumps(info, indent=2))
        return info

    def log(self, msg: str) -> None:
        line = f'[{self.dir.name} {time.time() - self.t0:7.1f}s] {msg}'
        print(line, flush=True)
        with open(self.dir / 'log.txt', 'a') as f:
            f.write(line + '\n')


def run_dir(name: str) -> Path:
    """ml/runs/<name>: where a run's checkpoint, model.pt, done.json and log live."""
    return common.RUNS / name


def finished(name: str) -> dict | None:
    """A finished run's done.json record; None while it is not finished (or never started)."""
    p = run_dir(name) / 'done.json'
    return json.loads(p.read_text()) if p.exists() else None


def load_weights(module: torch.nn.Module, name: str, file: str = 'model.pt') -> torch.nn.Module:
    """A finished run's weights into `module`, in eval mode."""
    module.load_state_dict(torch.load(run_dir(name) / file, map_location='cpu'))
    return module.eval()


@dataclass
class Schedule:
    """The optimiser and loop settings of one run (its hyper-parameters, apart from the model's own)."""

    steps: int
    lr: float
    seed: int = 0
    warmup: int = 100  # linear warm-up steps of cosine_lr
    weight_decay: float = 1e-4  # AdamW
    clip_norm: float | None = None  # gradient-norm clipping of the job's "model" (None: no clipping)
    log_every: int = 50
    validate_every: int | None = None  # periodic validation (never at step 0); None: only the job's final one
    save_every: int = 200  # checkpoint interval, steps


@dataclass
class Job:
    """What a trainer supplies to `train`, built by its `setup(device)` after the seed is set.

    modules: every module that trains and is checkpointed, "model" first: model.pt is written from it.
    params: what AdamW optimises (parameters, or param-group dicts).
    loss(step) → (loss, {name: value to log}); the batch for the step is the job's to pick.
    validate() → a log line (periodic validation; the modules are put back in train mode after it).
    finish(checkpointer) → done.json's record: the final validation, run settings, anything to save.
    """

    modules: dict[str, torch.nn.Module]
    params: Iterable
    loss: Callable[[int], tuple[torch.Tensor, dict[str, torch.Tensor | float]]]
    finish: Callable[[Checkpointer], dict]
    validate: Callable[[], str] | None = None


def train(name: str, schedule: Schedule, setup: Callable[[torch.device], Job]) -> dict:
    """Run (or resume, or skip when finished) the training run `name`; returns its done.json record."""
    ck = Checkpointer(name, schedule.save_every)
    if ck.done:
        return ck.done
    dev = device()
    torch.manual_seed(schedule.seed)
    job = setup(dev)
    opt = torch.optim.AdamW(job.params, lr=schedule.lr, weight_decay=schedule.weight_decay)
    state = {**job.modules, 'opt': opt}
    start = ck.resume(state)
    model = job.modules['model']
    for step in range(start, schedule.steps):
        for g in opt.param_groups:
            g['lr'] = cosine_lr(step, schedule.steps, schedule.lr, schedule.warmup)
        for m in job.modules.values():
            m.train()
        loss, logs = job.loss(step)
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # e.g. a batch without any labelled image: nothing to learn from
            loss.backward()
            if schedule.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), schedule.clip_norm)
            opt.step()
        if step % schedule.log_every == 0:
            ck.log(f'step {step}/{schedule.steps} ' + ' '.join(f'{k} {float(v):.4f}' for k, v in logs.items()))
        if job.validate is not None and schedule.validate_every and step and step % schedule.validate_every == 0:
            ck.log(job.validate())
        ck.maybe_save(step + 1, state)
    return ck.finish(model, job.finish(ck))
