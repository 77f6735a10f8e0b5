"""Shared test settings: the PyTorch reference switch, the golden-file flag, seeds."""

import os

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden DOT files in tests/golden/ instead of comparing")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def require_torch():
    """Import torch for a reference test; skip without it, or fail under REQUIRE_TORCH=1 (CI)."""
    try:
        import torch
    except ImportError:
        if os.environ.get("REQUIRE_TORCH") == "1":
            pytest.fail("REQUIRE_TORCH=1 but torch is not installed: the PyTorch reference "
                        "tests must run here")
        pytest.skip("PyTorch is not installed: reference comparison skipped "
                    "(pip install torch==2.13.0 to run it)")
    torch.set_default_dtype(torch.float64)
    return torch


@pytest.fixture
def torch():
    return require_torch()


@pytest.fixture(autouse=True)
def _seed():
    import tinygrad_rnn

    tinygrad_rnn.manual_seed(0)
    np.random.seed(0)
