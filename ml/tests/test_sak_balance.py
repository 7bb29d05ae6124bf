"""sak-balance: the router's importance loss and the ViT tokens' grid, against hand-computed cases."""

import numpy as np
import pytest
import torch

from attnlens_ml.models.sak import SAKConfig, SAKStudent
from attnlens_ml.sak_balance import ARMS, PATHS, run_name, tokens_to_grid
from attnlens_ml.train_sak import router_balance_loss


def test_balance_loss_is_zero_for_equal_shares_and_two_when_one_of_three_paths_takes_all():
    assert router_balance_loss(torch.full((16, 3), 1 / 3)).item() == pytest.approx(0, abs=1e-7)
    collapsed = torch.zeros(16, 3)
    collapsed[:, 1] = 1
    # importance (0, 16, 0): mean 16/3, population variance 2·(16/3)² ... cv² = 2
    assert router_balance_loss(collapsed).item() == pytest.approx(2.0)
    # per image unequal but equal in total: balanced as far as the loss goes
    alternating = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]] * 4)
    assert router_balance_loss(alternating).item() == pytest.approx(0, abs=1e-7)


def test_balance_loss_pushes_weight_off_the_dominant_path():
    logits = torch.tensor([[0.0, 4.0, 0.0]] * 8, requires_grad=True)
    router_balance_loss(logits.softmax(-1)).backward()
    assert (logits.grad[:, 1] > 0).all() and (logits.grad[:, [0, 2]] < 0).all()  # descent lowers path 1


def test_tokens_to_grid_is_row_major_patches_channels_first():
    tokens = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)  # 2 images, 2×2 patches, 3 channels
    grid = tokens_to_grid(tokens)
    assert grid.shape == (2, 3, 2, 2)
    for n in range(2):
        for t in range(4):
            np.testing.assert_array_equal(grid[n, :, t // 2, t % 2], tokens[n, t])
    # as train_sak.teacher_features reshapes the torch ViT's tokens
    torch_way = torch.from_numpy(tokens).transpose(1, 2).reshape(2, -1, 2, 2).numpy()
    np.testing.assert_array_equal(grid, torch_way)
    with pytest.raises(ValueError, match='square'):
        tokens_to_grid(np.zeros((1, 5, 3), np.float32))


def test_arms_paths_and_run_names():
    assert ARMS['noise'] == 0 and ARMS['balanced'] > 0
    student = SAKStudent(SAKConfig()).eval()
    _, _, weights, _ = student(torch.zeros(2, 3, 160, 160))
    assert weights.shape[1] == len(PATHS) == 3  # stem + one path per teacher
    assert len({run_name(a, s) for a in ARMS for s in range(3)}) == 6
