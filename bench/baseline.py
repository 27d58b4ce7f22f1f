"""The benchmark's baseline: Ray's MNIST PyTorch Tune example, re-created from its documented settings.

Upstream: `python/ray/tune/examples/mnist_pytorch.py` in ray-project/ray (the copy installed with Ray
2.60 under `ray/tune/examples/`). Kept as upstream: the 3-channel ConvNet, `DataLoader`s at batch 64 with
shuffling, per-sample ToTensor+Normalize((0.1307,), (0.3081,)), SGD with lr `loguniform(1e-4, 1e-2)` and
momentum `uniform(0.1, 0.9)`, `AsyncHyperBandScheduler()` with its defaults, the stop rule
(`mean_accuracy` 0.98 or the iteration cap), {"cpu": 2, "gpu": 0/1} per trial, no checkpoints, and the
"epoch" of `EPOCH_SIZE` training samples. Deviations (see docs/bench.md): the data are workloads/'s
splits instead of a torchvision download; every epoch is scored on the whole validation split instead of
~`TEST_SIZE` test samples; the iteration cap and trial count come from the command line; the search and
the weights are seeded; the trial also reports `epoch`, `compute_seconds` and `wall_time`; a callback
records when the search ran (workloads/callbacks.SearchClock) into `search.json` (bench/records.py).

    python -m bench.baseline --data-dir D --storage-path S --name N --num-samples K --max-epochs E --seed X
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import ray
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from ray import tune
from ray.tune.schedulers import AsyncHyperBandScheduler
from ray.tune.search.basic_variant import BasicVariantGenerator

from bench import records
from workloads import data as workload_data
from workloads.callbacks import SearchClock

# Upstream's values: training samples per "epoch", and test samples per evaluation (which we no longer
# use: the benchmark scores every approach on the whole validation split).
EPOCH_SIZE = 512
TEST_SIZE = 256
BATCH_SIZE = 64
METRIC = "mean_accuracy"


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, kernel_size=3)
        self.fc = nn.Linear(192, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 3))
        x = x.view(-1, 192)
        x = self.fc(x)
        return F.log_softmax(x, dim=1)


class DigitDataset(torch.utils.data.Dataset):
    """torchvision's `MNIST` with `ToTensor()` + `Normalize((0.1307,), (0.3081,))`, over our arrays."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(np.asarray(self.images[index], dtype=np.float32).reshape(1, 28, 28) / 255.0)
        return (image - 0.1307) / 0.3081, int(self.labels[index])


def train_func(model, optimizer, train_loader, device=None):
    device = device or torch.device("cpu")
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        if batch_idx * len(data) > EPOCH_SIZE:
            return
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()


def test_func(model, data_loader, device=None):
    """Upstream stops after ~TEST_SIZE samples; here every validation sample counts."""
    device = device or torch.device("cpu")
    model.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for data, target in data_loader:
            data, target = data.to(device), target.to(device)
            outputs = model(data)
            _, predicted = torch.max(outputs.data, 1)
            total += target.size(0)
            correct += (predicted == target).sum().item()
    return correct / total


def get_data_loaders(data_dir, batch_size=BATCH_SIZE):
    train = workload_data.load_split(data_dir, "train")
    val = workload_data.load_split(data_dir, "val")
    train_loader = torch.utils.data.DataLoader(
        DigitDataset(train.images, train.labels), batch_size=batch_size, shuffle=True
    )
    test_loader = torch.utils.data.DataLoader(DigitDataset(val.images, val.labels), batch_size=batch_size, shuffle=True)
    return train_loader, test_loader


def train_mnist(config, data_dir, seed):
    started = time.perf_counter()
    torch.manual_seed(seed)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    train_loader, test_loader = get_data_loaders(data_dir)
    model = ConvNet().to(device)

    optimizer = optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])

    epoch = 0
    while True:  # upstream's loop: Tune's stop rule ends the trial
        train_func(model, optimizer, train_loader, device)
        acc = test_func(model, test_loader, device)
        epoch += 1
        metrics = {METRIC: acc, "epoch": epoch, "compute_seconds": time.perf_counter() - started}
        if use_cuda:
            metrics["peak_gpu_memory_bytes"] = torch.cuda.max_memory_allocated(device)
        metrics["wall_time"] = time.time()
        tune.report(metrics)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--storage-path", required=True)
    parser.add_argument("--name", default="baseline")
    parser.add_argument("--num-samples", type=int, default=50)  # upstream's
    parser.add_argument("--max-epochs", type=int, default=100)  # upstream's training_iteration cap
    parser.add_argument("--cpus-per-trial", type=float, default=2)  # upstream's
    parser.add_argument("--gpus-per-trial", type=float, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ray.init()
    resources_per_trial = {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(train_mnist, data_dir=os.path.abspath(args.data_dir), seed=args.seed),
            resources=resources_per_trial,
        ),
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            scheduler=AsyncHyperBandScheduler(),
            num_samples=args.num_samples,
            search_alg=BasicVariantGenerator(random_state=args.seed),
        ),
        run_config=tune.RunConfig(
            name=args.name,
            storage_path=os.path.abspath(args.storage_path),
            stop={METRIC: 0.98, "training_iteration": args.max_epochs},
            verbose=0,
            callbacks=[SearchClock()],
        ),
        param_space={
            "lr": tune.loguniform(1e-4, 1e-2),
            "momentum": tune.uniform(0.1, 0.9),
        },
    )
    results = tuner.fit()
    records.write_search(Path(os.path.abspath(args.storage_path), args.name), SearchClock.last_window())
    print("Best config is:", results.get_best_result(scope="all").config)
    return 1 if results.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
