"""The workload images: one Dockerfile for the CPU and the GPU image, and the pins they install."""
