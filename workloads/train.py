"""The training loop, free of Ray: the whole dataset lives on the trial's device as tensors.

No DataLoader: at 28x28 a per-sample loader costs more than the model. Each epoch shuffles by an index
permutation and slices batches from the device tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, get_type_hints

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workloads.model import ConvNet

# MNIST's pixel mean and standard deviation (over the 60,000 training images, scaled to 0..1).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
EVAL_BATCH = 2048
# bf16 runs on tensor cores from Ampere (compute capability 8.0) on. Below it torch emulates bf16
# (torch/cuda/__init__.py: is_bf16_supported(including_emulation=True) returns True on a T4, capability
# 7.5), slower than fp16, which Turing's tensor cores run natively; fp16's narrow exponent needs a
# GradScaler so small gradients do not flush to zero.
BF16_MIN_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Hyperparameters:
    """What the search tunes; `from_config` picks these keys out of a trial's config."""

    lr: float = 5e-3
    weight_decay: float = 1e-4
    batch_size: int = 128
    width: int = 16
    depth: int = 3
    dropout: float = 0.1
    # Random shifts of up to this many pixels; they help most when there are few training images.
    max_shift: int = 2

    def __post_init__(self):
        for name, ok, example in (
            ("lr", self.lr > 0, 5e-3),
            ("weight_decay", self.weight_decay >= 0, 1e-4),
            ("batch_size", self.batch_size >= 1, 128),
            ("max_shift", self.max_shift >= 0, 2),
        ):
            if not ok:
                raise ValueError(f"{name} is out of range: {getattr(self, name)!r} (e.g. {example})")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Hyperparameters:
        # Cast to the declared type: searchers may hand back numpy scalars.
        types = get_type_hints(cls)
        return cls(**{f.name: types[f.name](config[f.name]) for f in fields(cls) if f.name in config})


@dataclass(frozen=True)
class Precision:
    """How a trial computes: the autocast dtype (None: plain float32) and whether gradients are scaled."""

    dtype: torch.dtype | None
    scale_gradients: bool = False

    @property
    def name(self) -> str:
        return "float32" if self.dtype is None else str(self.dtype).removeprefix("torch.")


FLOAT32 = Precision(None)
BF16 = Precision(torch.bfloat16)
FP16 = Precision(torch.float16, scale_gradients=True)


def choose_precision(device: torch.device, capability: tuple[int, int] | None = None) -> Precision:
    """float32 on the CPU; on a GPU bf16 from compute capability 8.0, else fp16 with gradient scaling.

    `capability` defaults to the device's own (torch.cuda.get_device_capability).
    """
    if device.type != "cuda":
        return FLOAT32
    if capability is None:
        capability = torch.cuda.get_device_capability(device)
    return BF16 if tuple(capability) >= BF16_MIN_CAPABILITY else FP16


@dataclass
class TrainState:
    """Everything a resumed trial needs to continue exactly where it stopped."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator  # shuffles and shifts, on the CPU whatever the device
    device: torch.device
    precision: Precision
    scaler: torch.amp.GradScaler  # a no-op unless precision.scale_gradients
    epoch: int = 0


def pick_device() -> torch.device:
    """The GPU Ray assigned to this process (it sets CUDA_VISIBLE_DEVICES), else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def configure_cpu(threads: int) -> None:
    """Match torch's intra-op threads to the CPUs the trial holds, so concurrent trials do not contend."""
    torch.set_num_threads(max(1, int(threads)))


def to_device(images: np.ndarray, labels: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised float images (N, 1, H, W) and int64 labels on `device`; uploads uint8 (4x less to copy)."""
    # Copies: packed splits are read-only views of the file buffer.
    x = torch.from_numpy(np.array(images, dtype=np.uint8)).to(device).unsqueeze(1).float()
    x = (x / 255.0 - MNIST_MEAN) / MNIST_STD
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return x, torch.from_numpy(np.array(labels, dtype=np.int64)).to(device)


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random offset of up to `max_shift` pixels, edges filled with background."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    background = -MNIST_MEAN / MNIST_STD
    padded = F.pad(x, (max_shift,) * 4, value=background)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def build(
    hp: Hyperparameters,
    train_size: int,
    epochs: int,
    device: torch.device,
    seed: int,
    precision: Precision | None = None,
) -> TrainState:
    """Model, AdamW and a one-cycle schedule spanning `epochs` epochs of `train_size` images.

    `precision` defaults to `choose_precision(device)`.
    """
    precision = precision or choose_precision(device)
    torch.manual_seed(seed)  # weights and dropout
    model = ConvNet(hp.width, hp.depth, hp.dropout).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    steps = epochs * math.ceil(train_size / hp.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp.lr, total_steps=steps, pct_start=0.25)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.scale_gradients)
    return TrainState(model, optimizer, scheduler, torch.Generator().manual_seed(seed), device, precision, scaler)


def train_epoch(state: TrainState, x: torch.Tensor, y: torch.Tensor, hp: Hyperparameters) -> float:
    """One pass over (x, y) in shuffled batches; returns the mean training loss."""
    state.model.train()
    n = len(y)
    order = torch.randperm(n, generator=state.generator).to(state.device)
    total = torch.zeros((), device=state.device)
    dtype = state.precision.dtype
    for start in range(0, n, hp.batch_size):
        idx = order[start : start + hp.batch_size]
        batch = random_shift(x[idx], hp.max_shift, state.generator)
        with torch.autocast(state.device.type, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(state.model(batch), y[idx])
        state.optimizer.zero_grad(set_to_none=True)
        # Disabled, the scaler passes the loss and the step through unchanged.
        state.scaler.scale(loss).backward()
        state.scaler.step(state.optimizer)
        state.scaler.update()
        state.scheduler.step()
        total += loss.detach() * len(idx)  # stays on the device: no sync per batch
    state.epoch += 1
    return float(total) / n


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, precision: Precision | None = None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (0..1) over (x, y); `precision` defaults to the device's choice."""
    model.eval()
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    dtype = (precision or choose_precision(x.device)).dtype
    for start in range(0, len(y), EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(xb)
        loss += F.cross_entropy(logits.float(), yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    return float(loss) / len(y), float(correct) / len(y)


def state_dict(state: TrainState) -> dict[str, Any]:
    """A checkpointable snapshot, RNG included, so a resumed trial continues the same sequence."""
    snapshot = {
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "generator": state.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "epoch": state.epoch,
    }
    if state.scaler.is_enabled():
        snapshot["scaler"] = state.scaler.state_dict()
    if state.device.type == "cuda":
        snapshot["cuda_rng"] = torch.cuda.get_rng_state()
    return snapshot


def load_state_dict(state: TrainState, snapshot: Mapping[str, Any]) -> None:
    state.model.load_state_dict(snapshot["model"])
    state.optimizer.load_state_dict(snapshot["optimizer"])
    state.scheduler.load_state_dict(snapshot["scheduler"])
    state.generator.set_state(snapshot["generator"])
    torch.set_rng_state(snapshot["torch_rng"])
    if state.scaler.is_enabled() and "scaler" in snapshot:
        state.scaler.load_state_dict(snapshot["scaler"])
    if state.device.type == "cuda" and "cuda_rng" in snapshot:
        torch.cuda.set_rng_state(snapshot["cuda_rng"])
    state.epoch = int(snapshot["epoch"])
