"""bench/baseline.py keeps upstream's model and epoch, and scores on the whole validation split."""

import numpy as np
import torch

from bench import baseline


def test_the_model_is_upstreams_3_channel_convnet_with_a_192_input_head():
    model = baseline.ConvNet()
    assert model.conv1.out_channels == 3 and model.conv1.kernel_size == (3, 3)
    assert model.fc.in_features == 192 and model.fc.out_features == 10
    out = model(torch.zeros(5, 1, 28, 28))
    assert out.shape == (5, 10) and torch.allclose(out.exp().sum(1), torch.ones(5))


def test_the_dataset_applies_totensor_and_mnist_normalisation_per_sample():
    images = np.full((2, 28, 28), 255, dtype=np.uint8)
    x, label = baseline.DigitDataset(images, np.array([3, 4], dtype=np.uint8))[0]
    assert x.shape == (1, 28, 28) and label == 3
    assert torch.allclose(x, torch.full((1, 28, 28), (1 - 0.1307) / 0.3081))


def test_an_epoch_trains_on_upstreams_512_samples_plus_one_batch():
    seen = []

    class Recorder(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(1)
            return super().step(closure)

    model = baseline.ConvNet()
    data = torch.utils.data.TensorDataset(torch.zeros(2000, 1, 28, 28), torch.zeros(2000, dtype=torch.long))
    loader = torch.utils.data.DataLoader(data, batch_size=baseline.BATCH_SIZE)
    baseline.train_func(model, Recorder(model.parameters(), lr=0.01), loader)
    assert len(seen) * baseline.BATCH_SIZE == 576


def test_the_test_function_scores_every_validation_sample():
    model = baseline.ConvNet()
    data = torch.utils.data.TensorDataset(torch.zeros(1000, 1, 28, 28), torch.zeros(1000, dtype=torch.long))
    calls = []
    original = model.forward
    model.forward = lambda x: calls.append(len(x)) or original(x)
    baseline.test_func(model, torch.utils.data.DataLoader(data, batch_size=64))
    assert sum(calls) == 1000
