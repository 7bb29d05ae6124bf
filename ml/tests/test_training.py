"""The one training loop (training.train): resumes exactly, skips finished runs, validates and logs on schedule."""

import json

import pytest
import torch
from torch import nn

from attnlens_ml import common
from attnlens_ml.training import Checkpointer, Job, Schedule, batch_indices, cosine_lr, finished, load_weights, train

X = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
Y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])


class Tiny(nn.Module):
    """Dropout draws from torch's RNG in training, as SAK's router noise does: resuming must restore it."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)


class Crash(Exception):
    pass


def tiny_setup(log: dict, crash_at: int | None = None, no_grad_steps: tuple[int, ...] = ()):
    def setup(dev):
        log['setups'] = log.get('setups', 0) + 1
        model = Tiny().to(dev)

        def loss(step):
            if step == crash_at:
                raise Crash()
            log.setdefault('steps', []).append(step)
            if step in no_grad_steps:
                return torch.zeros(()), {}
            idx = torch.from_numpy(batch_indices(len(X), 8, step, 0))
            mse = ((model(X[idx]) - Y[idx]) ** 2).mean()
            return mse, {'mse': mse}

        def validate():
            log.setdefault('validated', []).append(log['steps'][-1])
            return 'val ok'

        def finish(ck):
            model.eval()
            return {'mse': float(((model(X) - Y) ** 2).mean())}

        return Job(modules={'model': model}, params=model.parameters(), loss=loss, finish=finish, validate=validate)

    return setup


SCHEDULE = Schedule(steps=12, lr=1e-2, seed=3, warmup=4, clip_norm=1.0, log_every=5, validate_every=4, save_every=5)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setattr(common, 'RUNS', tmp_path)
    return tmp_path


def weights(name):
    return load_weights(Tiny(), name).state_dict()


def test_resumed_run_ends_where_an_uninterrupted_one_does(runs):
    whole = {}
    info = train('whole', SCHEDULE, tiny_setup(whole))
    assert whole['steps'] == list(range(12)) and whole['validated'] == [4, 8]
    assert set(info) == {'mse', 'wall_seconds_this_process'} and finished('whole') == info

    first = {}
    with pytest.raises(Crash):
        train('split', SCHEDULE, tiny_setup(first, crash_at=7))
    assert torch.load(runs / 'split' / 'ckpt.pt')['step'] == 5 and finished('split') is None
    second = {}
    info2 = train('split', SCHEDULE, tiny_setup(second))
    assert second['steps'] == list(range(5, 12))  # from the checkpoint, not from 7 nor from 0
    for k, v in weights('whole').items():
        assert torch.equal(v, weights('split')[k]), k
    assert info2['mse'] == info['mse']


def test_finished_run_is_skipped(runs):
    log = {}
    info = train('once', SCHEDULE, tiny_setup(log))
    again = {}
    assert train('once', SCHEDULE, tiny_setup(again)) == info and again == {}  # not even set up
    lines = (runs / 'once' / 'log.txt').read_text().splitlines()
    assert [line.split('] ')[1] for line in lines] == [
        'step 0/12 mse ' + lines[0].split('mse ')[1],
        'val ok',
        'step 5/12 mse ' + lines[2].split('mse ')[1],
        'val ok',
        'step 10/12 mse ' + lines[4].split('mse ')[1],
    ]
    assert json.loads((runs / 'once' / 'done.json').read_text()) == info


def test_a_loss_without_gradient_skips_the_update(runs):
    log = {}
    train('frozen', Schedule(steps=3, lr=1e-2, save_every=100), tiny_setup(log, no_grad_steps=(0, 1, 2)))
    torch.manual_seed(0)
    fresh = Tiny().state_dict()  # what setup built under the same seed
    for k, v in weights('frozen').items():
        assert torch.equal(v, fresh[k]), k


def test_checkpoints_without_rng_state_still_resume(runs):
    """Checkpoints from before the RNG state was saved ({model, opt, step}) load as they are."""
    ck = Checkpointer('legacy')
    model = Tiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': 10}, ck.dir / 'ckpt.pt')
    log = {}
    train('legacy', SCHEDULE, tiny_setup(log))
    assert log['steps'] == [10, 11]


def test_cosine_schedule():
    assert [cosine_lr(s, 10, 1.0, warmup=4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert cosine_lr(4, 10, 1.0, warmup=4) == 1.0 and cosine_lr(7, 10, 1.0, warmup=4) == pytest.approx(0.5)
    assert cosine_lr(10, 10, 1.0, warmup=4) == pytest.approx(0.0)
