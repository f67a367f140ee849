"""Small vectorised helpers over scipy CSR matrices and dense score blocks.

Every function works on whole matrices at once (no Python loop over rows), because the ranker
applies them to thousands of people or items per call.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def csr(matrix: sp.spmatrix | sp.sparray, dtype: type = np.float32) -> sp.csr_matrix:
    """``matrix`` as a canonical CSR matrix (sorted indices, no duplicates) of ``dtype``."""
    out = sp.csr_matrix(matrix, dtype=dtype)
    out.sum_duplicates()
    out.sort_indices()
    return out


def row_ids(matrix: sp.csr_matrix) -> np.ndarray:
    """The row number of every stored entry of ``matrix``."""
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def rank_in_row(matrix: sp.csr_matrix, *, by_abs: bool = False) -> np.ndarray:
    """For each stored entry, its rank (0 = largest) among the stored entries of its row."""
    rows = row_ids(matrix)
    values = np.abs(matrix.data) if by_abs else matrix.data
    order = np.lexsort((-values, rows))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order)) - matrix.indptr[rows[order]]
    return ranks


def top_per_row(matrix: sp.csr_matrix, k: int, *, by_abs: bool = False) -> sp.csr_matrix:
    """Keep the ``k`` largest stored entries of every row (by absolute value if ``by_abs``).

    Short rows are kept whole; long rows are cut with a partial sort each when they are long
    (as in query × corpus scores), or all at once with one sort when they are short. The input
    need not have sorted indices; the output does."""
    matrix = sp.csr_matrix(matrix)
    if k <= 0:
        return sp.csr_matrix(matrix.shape, dtype=matrix.dtype)
    lengths = np.diff(matrix.indptr)
    long_rows = np.flatnonzero(lengths > k)
    if not len(long_rows):
        return csr(matrix, matrix.dtype)
    if lengths[long_rows].mean() > 100:
        keep = np.ones(matrix.nnz, dtype=bool)
        data = np.abs(matrix.data) if by_abs else matrix.data
        for r in long_rows.tolist():  # long rows: one partial sort each beats sorting everything
            lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
            keep[lo + np.argpartition(-data[lo:hi], k - 1)[k:]] = False
    else:
        keep = rank_in_row(matrix, by_abs=by_abs) < k
    indptr = np.concatenate([[0], np.cumsum(np.minimum(lengths, k))])
    out = sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape, dtype=matrix.dtype
    )
    out.sort_indices()
    return out


def normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    matrix = csr(matrix, matrix.dtype)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr(sp.diags(1.0 / norms) @ matrix, matrix.dtype)


def scale_rows(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """Row ``i`` multiplied by ``factors[i]``."""
    return csr(sp.diags(np.asarray(factors, dtype=np.float64)) @ matrix, matrix.dtype)


def top_k_dense(block: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest values of each row of ``block``, best first."""
    n = block.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.empty((block.shape[0], 0), dtype=np.int64)
    if k < n:  # (partitioning the negated block is much faster when many values are -inf)
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), block.shape).copy()
    values = np.take_along_axis(block, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
