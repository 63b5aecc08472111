"""Device choice and seeding, in one place so no module hard-codes ``.cuda()`` or a global RNG."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch
from torch import nn

from medssl.core.errors import ConfigError


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes the first CUDA device if there is one, else the CPU."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda"):
        index = int(preference.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"train.device is '{preference}' but {torch.cuda.device_count()} CUDA device(s) "
                "are visible; use 'auto' or 'cpu'"
            )
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    """Seed the framework RNGs that network initialisation and dropout draw from."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def place_network(
    network: nn.Module, device: torch.device, channels_last: bool = False
) -> nn.Module:
    """Move ``network`` to ``device``; with ``channels_last`` its 4-D weights use the NHWC layout,
    which oneDNN's CPU convolutions run faster (the arithmetic is the same; inputs need not change).
    """
    network = network.to(device)
    return network.to(memory_format=torch.channels_last) if channels_last else network


def configure_backends(device: torch.device, deterministic: bool) -> None:
    """CUDA only: reproducible kernels, or cuDNN's autotuner (faster, run-to-run noise) when not
    ``deterministic``. Nothing changes on the CPU, whose kernels are deterministic for a thread
    count."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    if deterministic:
        # cuBLAS needs it to be deterministic
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


AUTOCAST_MODES = ("none", "bf16")


def autocast(device: torch.device, mode: str) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for ``bf16`` (matrix products and convolutions in bf16, reductions such as
    the K+1 losses' logsumexp in fp32, which the losses also ask for explicitly); nothing for
    ``none``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16")


# torch.cpu.get_capabilities() names: x86 (AVX-512 and AMX), then ARM64.
_BF16_CPU_CAPABILITIES = ("avx512_bf16", "amx_bf16", "bf16")


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 matrix products in hardware: a GPU, or a CPU with
    AVX512-BF16, AMX-BF16 or (ARM) BF16 instructions. Elsewhere oneDNN emulates them, many times
    slower than fp32 (patch_ssgan's step 17x, ssgan's 21x on an AMD EPYC without either:
    docs/performance.md)."""
    if device.type != "cpu":
        return True
    capabilities = torch.cpu.get_capabilities()
    return any(bool(capabilities.get(name)) for name in _BF16_CPU_CAPABILITIES)


def bf16_warning(device: torch.device, mode: str) -> str | None:
    """A one-line warning when ``bf16`` is asked for where it runs emulated; None otherwise. A
    warning, not an error: the numbers are those of bf16 either way, only slower."""
    if mode != "bf16" or has_native_bf16(device):
        return None
    return (
        "warning: autocast bf16 on a CPU without bf16 units (AVX512-BF16 or AMX) runs emulated, "
        "several times slower than fp32; set train.autocast (or the method's autocast) to none "
        "on this machine unless you need bf16's numbers"
    )


def configure_threads(num_threads: int) -> None:
    """0 keeps PyTorch's default (one thread per core)."""
    if num_threads > 0:
        torch.set_num_threads(num_threads)
