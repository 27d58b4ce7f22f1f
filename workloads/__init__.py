"""MNIST hyperparameter search with Ray Tune: data, model, training loop, trainable and CLI."""
