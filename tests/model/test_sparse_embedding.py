"""The sparse profile embedding: forward and gradient by hand and against embedding_bag."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.model.neighbours import to_torch_csr
from attnrec.model.network import SparseEmbedding


def embed(weight: torch.Tensor, profiles: sp.csr_matrix, transposed: bool = True) -> torch.Tensor:
    """With the transpose a training batch carries, or without it (torch transposes)."""
    profiles_t = to_torch_csr(profiles.T.tocsr()) if transposed else None
    return SparseEmbedding.apply(weight, to_torch_csr(profiles), profiles_t)


@pytest.mark.parametrize("transposed", [True, False], ids=["training-batch", "no-transpose"])
def test_forward_and_gradient_by_hand(transposed: bool) -> None:
    # two profiles over 3 items: [0.6, 0, 0.8] and [0, 1, 0]
    profiles = sp.csr_matrix(np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]], dtype=np.float32))
    weight = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    out = embed(weight, profiles, transposed)
    torch.testing.assert_close(out, torch.tensor([[4.6, 6.0], [3.0, 4.0]]))
    # d(sum of row 0 x [1, 10] + row 1 x [2, 20]) / d weight = profiles^T @ upstream
    (out * torch.tensor([[1.0, 10.0], [2.0, 20.0]])).sum().backward()
    expected = torch.tensor([[0.6, 6.0], [2.0, 20.0], [0.8, 8.0]])
    torch.testing.assert_close(weight.grad, expected)


@pytest.mark.parametrize("transposed", [True, False], ids=["training-batch", "no-transpose"])
def test_no_profiles_gives_empty_output_and_zero_gradient(transposed: bool) -> None:
    weight = torch.ones(4, 3, requires_grad=True)
    out = embed(weight, sp.csr_matrix((0, 4), dtype=np.float32), transposed)
    assert out.shape == (0, 3)
    (out.sum() + weight.sum() * 0).backward()
    assert weight.grad is not None and not weight.grad.any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(1, 12), items=st.integers(1, 20))
def test_matches_embedding_bag(seed: int, rows: int, items: int) -> None:
    rng = np.random.default_rng(seed)
    dense = (rng.random((rows, items)) < 0.4) * rng.random((rows, items))
    profiles = sp.csr_matrix(dense.astype(np.float32))
    weight = torch.randn(items, 5, generator=torch.Generator().manual_seed(seed))
    upstream = torch.randn(rows, 5, generator=torch.Generator().manual_seed(seed + 1))

    ours = weight.clone().requires_grad_()
    (embed(ours, profiles) * upstream).sum().backward()
    bag = weight.clone().requires_grad_()
    reference = F.embedding_bag(
        torch.as_tensor(profiles.indices, dtype=torch.int64), bag,
        torch.as_tensor(profiles.indptr[:-1], dtype=torch.int64), mode="sum",
        per_sample_weights=torch.as_tensor(profiles.data),
    )  # fmt: skip
    (reference * upstream).sum().backward()
    torch.testing.assert_close(embed(weight, profiles), reference.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.grad, bag.grad, atol=1e-5, rtol=1e-5)
