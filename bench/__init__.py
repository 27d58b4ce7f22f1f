"""Side-by-side sweep benchmark: Ray's MNIST Tune example against workloads/ (see docs/bench.md)."""
