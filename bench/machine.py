"""What machine a benchmark ran on, and what its GPU did while it ran (NVML, where installed)."""

from __future__ import annotations

import datetime
import os
import platform
import re
import socket
import threading
from importlib import metadata

NVML_SAMPLE_S = 0.1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cores() -> int:
    """The cores this process may use (what Ray counts), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cuda_device_name() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def short_name(gpu_name: str | None = None) -> str:
    """`cpu-2core-<host>` or `gpu-<model>-<host>`: the results file's name."""
    host = re.sub(r"[^a-z0-9]+", "-", socket.gethostname().split(".")[0].lower()).strip("-") or "host"
    if gpu_name:
        model = re.sub(r"[^a-z0-9]+", "-", gpu_name.lower().replace("nvidia", "")).strip("-")
        return f"gpu-{model}-{host}"
    return f"cpu-{cores()}core-{host}"


def describe(gpu_name: str | None) -> dict:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "name": short_name(gpu_name),
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores": cores(),
        "gpu": gpu_name,
        "python": platform.python_version(),
        "ray": metadata.version("ray"),
        "torch": metadata.version("torch"),
    }


class GpuSampler(threading.Thread):
    """Samples GPU 0's utilisation and memory with NVML every NVML_SAMPLE_S until stopped.

    Without `pynvml` (the nvidia-ml-py package) or without a GPU, `summary()` says why instead.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._halt = threading.Event()
        self._samples: list[tuple[int, int]] = []
        self._handle = None
        self._nvml = None
        self.unavailable: str | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._nvml = pynvml
        except ImportError:
            self.unavailable = "pynvml (nvidia-ml-py) is not installed"
        except Exception as err:  # pynvml raises NVMLError subclasses: no driver, no device
            self.unavailable = f"NVML: {err}"

    def run(self) -> None:
        if self._handle is None or self._nvml is None:
            return
        while not self._halt.wait(NVML_SAMPLE_S):
            util = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
            memory = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
            self._samples.append((util.gpu, memory.used))

    def summary(self) -> dict:
        self._halt.set()
        if self.is_alive():
            self.join()
        if self.unavailable or not self._samples:
            return {"available": False, "reason": self.unavailable or "no samples"}
        utils = sorted(u for u, _ in self._samples)
        return {
            "available": True,
            "samples": len(utils),
            "utilization_mean_pct": sum(utils) / len(utils),
            "utilization_median_pct": utils[len(utils) // 2],
            "memory_used_peak_bytes": max(m for _, m in self._samples),
        }
