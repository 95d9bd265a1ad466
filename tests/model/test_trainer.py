"""Choosing the device to train on."""

from __future__ import annotations

import pytest
import torch

from attnrec.errors import ConfigError
from attnrec.model.trainer import resolve_device


@pytest.mark.parametrize("name", ["tpu", "mps", "nonsense"])
def test_unknown_devices_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="device"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine with no GPU")
def test_cuda_without_a_gpu_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="no CUDA GPU is available"):
        resolve_device("cuda")
