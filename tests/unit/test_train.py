"""workloads.train: device tensors, augmentation, the epoch loop and exact resumption, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workloads import train

HP = train.Hyperparameters(lr=5e-3, batch_size=32, width=4, depth=2, dropout=0.1)


@pytest.fixture(autouse=True)
def one_thread():
    # Deterministic CPU kernels and no contention with other tests.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def toy_digits(n: int = 96, seed: int = 0):
    """Separable fake digits: class k lights a 3x3 block on a 2x5 grid, spaced wider than any shift."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = 4 + 12 * (label // 5), 2 + 5 * (label % 5)
        images[i, row : row + 3, col : col + 3] = 255
    return train.to_device(images, labels, torch.device("cpu"))


def test_images_arrive_normalised_with_a_channel_axis():
    x, y = train.to_device(np.full((3, 28, 28), 255, np.uint8), np.array([1, 2, 3], np.uint8), torch.device("cpu"))
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32
    assert torch.allclose(x, torch.full_like(x, (1 - train.MNIST_MEAN) / train.MNIST_STD))
    assert y.dtype == torch.int64 and y.tolist() == [1, 2, 3]


def test_a_random_shift_moves_each_image_within_the_margin_and_keeps_its_pixels():
    background = -train.MNIST_MEAN / train.MNIST_STD
    x = torch.full((16, 1, 28, 28), background)
    x[:, 0, 10:18, 10:18] = 1.0  # a blob well inside the 2-pixel margin
    shifted = train.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    assert torch.equal((shifted == 1.0).sum(dim=(1, 2, 3)), (x == 1.0).sum(dim=(1, 2, 3)))
    rows = [(img[0] == 1.0).nonzero()[:, 0].min().item() for img in shifted]
    assert set(rows) <= set(range(8, 13)) and len(set(rows)) > 1  # per image, not one shift for all


def test_no_shift_returns_the_batch_untouched():
    x = torch.randn(2, 1, 28, 28)
    assert train.random_shift(x, 0, torch.Generator()) is x


def test_a_few_epochs_learn_separable_digits():
    x, y = toy_digits()
    hp = train.Hyperparameters(lr=1e-2, batch_size=16, width=8, depth=2, dropout=0.0)
    state = train.build(hp, len(y), epochs=8, device=torch.device("cpu"), seed=0)
    _, before = train.evaluate(state.model, x, y)
    losses = [train.train_epoch(state, x, y, hp) for _ in range(8)]
    loss, accuracy = train.evaluate(state.model, x, y)
    assert losses[-1] < losses[0]
    assert accuracy > max(0.9, before) and loss > 0
    assert state.epoch == 8


def test_evaluation_returns_a_mean_loss_and_an_accuracy_between_0_and_1():
    x, y = toy_digits(40)
    state = train.build(HP, len(y), epochs=1, device=torch.device("cpu"), seed=0)
    loss, accuracy = train.evaluate(state.model, x, y)
    assert loss > 0 and 0.0 <= accuracy <= 1.0


def test_a_run_resumed_from_a_snapshot_continues_exactly_as_if_never_stopped(tmp_path):
    x, y = toy_digits()
    cpu = torch.device("cpu")
    straight = train.build(HP, len(y), epochs=4, device=cpu, seed=3)
    for _ in range(4):
        train.train_epoch(straight, x, y, HP)

    first = train.build(HP, len(y), epochs=4, device=cpu, seed=3)
    for _ in range(2):
        train.train_epoch(first, x, y, HP)
    torch.save(train.state_dict(first), tmp_path / "state.pt")
    torch.manual_seed(999)  # a new process would start from other RNG states

    resumed = train.build(HP, len(y), epochs=4, device=cpu, seed=7)
    train.load_state_dict(resumed, torch.load(tmp_path / "state.pt"))  # weights_only: plain tensors and numbers
    assert resumed.epoch == 2
    for _ in range(2):
        train.train_epoch(resumed, x, y, HP)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_hyperparameters_come_from_a_trial_config_ignoring_other_keys():
    hp = train.Hyperparameters.from_config(
        {"lr": np.float64(0.02), "batch_size": np.int64(64), "width": 8, "data_dir": "/x", "max_epochs": 3}
    )
    assert hp == train.Hyperparameters(lr=0.02, batch_size=64, width=8)
    assert type(hp.batch_size) is int and type(hp.lr) is float


@pytest.mark.parametrize("field, value", [("lr", 0.0), ("batch_size", 0), ("weight_decay", -1.0), ("max_shift", -1)])
def test_out_of_range_hyperparameters_are_rejected_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        train.Hyperparameters(**{field: value})


def test_cpu_threads_follow_the_trials_cpus():
    train.configure_cpu(2)
    assert torch.get_num_threads() == 2
    train.configure_cpu(0)  # never zero threads
    assert torch.get_num_threads() == 1


def test_without_a_gpu_training_runs_on_the_cpu_in_float32():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert train.pick_device().type == "cpu"
    assert train.choose_precision(torch.device("cpu")) == train.FLOAT32
    assert train.build(HP, 64, 1, torch.device("cpu"), seed=0).scaler.is_enabled() is False


@pytest.mark.parametrize(
    "capability, expected",
    [
        ((7, 5), train.FP16),  # T4 (Turing): bf16 only emulated
        ((7, 0), train.FP16),  # V100
        ((8, 0), train.BF16),  # A100
        ((8, 6), train.BF16),  # A10, RTX 30xx
        ((9, 0), train.BF16),  # H100
    ],
)
def test_a_gpu_gets_bf16_from_compute_capability_8_and_fp16_with_gradient_scaling_below(capability, expected):
    precision = train.choose_precision(torch.device("cuda"), capability=capability)
    assert precision == expected
    assert precision.scale_gradients == (precision.dtype == torch.float16)


def test_the_cpu_stays_float32_whatever_capability_is_claimed():
    assert train.choose_precision(torch.device("cpu"), capability=(9, 0)) == train.FLOAT32


def test_the_fp16_path_scales_gradients_and_still_learns():
    # The T4's code path (fp16 autocast + GradScaler), run on the CPU, which supports both.
    x, y = toy_digits()
    hp = train.Hyperparameters(lr=1e-2, batch_size=16, width=8, depth=2, dropout=0.0)
    state = train.build(hp, len(y), epochs=8, device=torch.device("cpu"), seed=0, precision=train.FP16)
    assert state.scaler.is_enabled()
    losses = [train.train_epoch(state, x, y, hp) for _ in range(8)]
    _, accuracy = train.evaluate(state.model, x, y, state.precision)
    assert losses[-1] < losses[0] and accuracy > 0.9
    assert state.scaler.get_scale() > 0 and all(np.isfinite(losses))


def test_a_resumed_fp16_run_keeps_its_gradient_scale(tmp_path):
    x, y = toy_digits()
    cpu = torch.device("cpu")
    first = train.build(HP, len(y), epochs=4, device=cpu, seed=3, precision=train.FP16)
    train.train_epoch(first, x, y, HP)
    first.scaler.update(1234.0)  # a scale no fresh scaler starts with
    torch.save(train.state_dict(first), tmp_path / "state.pt")
    resumed = train.build(HP, len(y), epochs=4, device=cpu, seed=3, precision=train.FP16)
    train.load_state_dict(resumed, torch.load(tmp_path / "state.pt"))
    assert resumed.scaler.get_scale() == 1234.0
