"""The memory report behind GET /metrics/memory.

- rss_mb: resident memory of the server process now (/proc/self/statm; null where there is no /proc).
- peak_rss_mb: ru_maxrss of the process plus ru_maxrss of its reaped children (tesseract runs as a
  child per page), an upper bound of the peak; both parts are reported too.
- peak_gpu_mb: from NVML (pynvml), the largest memory NVML ever showed for this pid, sampled every
  0.25 s by a daemon thread; else, if torch is already imported and uses CUDA,
  torch.cuda.max_memory_reserved(); else null. `gpu_source` says which. NVML matches processes by
  pid, so inside a container with its own pid namespace it finds none and torch's figure is used.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from typing import Any

_MB = 1024 * 1024
_RU_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class MemoryMonitor:
    def __init__(self, interval_s: float = 0.25):
        self.interval_s = interval_s
        self._nvml = None
        self._handles: list = []
        self._peak_nvml = 0
        self._stop = threading.Event()

    def start(self) -> None:
        """Begin NVML sampling if pynvml and a GPU exist; silently nothing otherwise."""
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception:  # no pynvml, no driver, no GPU: all mean "NVML cannot tell"
            return
        if not self._handles:
            return
        self._nvml = pynvml
        threading.Thread(target=self._sample_loop, name="nvml-sampler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak_nvml = max(self._peak_nvml, self._nvml_used())

    def _nvml_used(self) -> int:
        pid, used = os.getpid(), 0
        for handle in self._handles:
            try:
                for proc in self._nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                    if proc.pid == pid and proc.usedGpuMemory:
                        used += proc.usedGpuMemory
            except Exception:
                continue
        return used

    def report(self) -> dict[str, Any]:
        rss = _rss_bytes()
        # ru_maxrss lags statm by a page or so; a peak below the current figure would look wrong.
        self_peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RU_UNIT, rss or 0)
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _RU_UNIT
        gpu, source = None, None
        if self._nvml is not None:
            self._peak_nvml = max(self._peak_nvml, self._nvml_used())
            if self._peak_nvml:
                gpu, source = self._peak_nvml, "nvml"
        if gpu is None:
            torch = sys.modules.get("torch")  # never import torch here: OCR envs lack it
            try:
                if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
                    gpu, source = torch.cuda.max_memory_reserved(), "torch"
            except Exception:
                pass
        return {
            "rss_mb": None if rss is None else round(rss / _MB, 1),
            "peak_rss_mb": round((self_peak + children_peak) / _MB, 1),
            "peak_rss_self_mb": round(self_peak / _MB, 1),
            "peak_rss_children_mb": round(children_peak / _MB, 1),
            "peak_gpu_mb": None if gpu is None else round(gpu / _MB, 1),
            "gpu_source": source,
        }
