"""What training and export share: where runs live, and the input normalisation every zoo model uses.
(The training loop itself — device, seeding, optimiser, schedule, checkpoints — is in training.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

RUNS = Path(__file__).resolve().parents[1] / 'runs'
# Input normalisation every zoo model uses; written into each contract, so the app never assumes it.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def to_input(images_uint8: np.ndarray, dev: torch.device) -> torch.Tensor:
    """uint8 [B,H,W,3] → normalised float [B,3,H,W] (channels_last on CPU: ~2.5× faster convs)."""
    x = torch.from_numpy(images_uint8).to(dev).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(MEAN, device=dev)[:, None, None]) / torch.tensor(STD, device=dev)[:, None, None]
    return x.contiguous(memory_format=torch.channels_last)
