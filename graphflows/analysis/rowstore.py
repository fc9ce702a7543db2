"""A growable store of sparse rows (one unit mix per node), filled in dependency order."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class RowStore:
    """Sparse rows of width ``n``, written once per node and gathered many times.

    >>> store = RowStore(3)
    >>> store.put(np.array([2]), sp.csr_matrix(np.array([[0.5, 0.0, 0.5]])))
    >>> store.get(np.array([2])).toarray().tolist()
    [[0.5, 0.0, 0.5]]
    """

    def __init__(self, n: int, capacity: int = 1024):
        self.n = n
        self.start = np.zeros(n, dtype=np.int64)
        self.length = np.zeros(n, dtype=np.int64)
        self.indices = np.empty(capacity, dtype=np.int64)
        self.data = np.empty(capacity, dtype=np.float64)
        self.used = 0

    def put(self, rows: np.ndarray, block: sp.csr_matrix) -> None:
        """Store the rows of ``block`` (CSR, width n) for the nodes ``rows``."""
        block = block.tocsr()
        count = block.nnz
        if self.used + count > self.indices.size:
            size = max(self.indices.size * 2, self.used + count)
            self.indices = np.resize(self.indices, size)
            self.data = np.resize(self.data, size)
        self.indices[self.used : self.used + count] = block.indices
        self.data[self.used : self.used + count] = block.data
        self.start[rows] = self.used + block.indptr[:-1]
        self.length[rows] = np.diff(block.indptr)
        self.used += count

    def get(self, rows: np.ndarray) -> sp.csr_matrix:
        """The stored rows for ``rows``, as a CSR matrix of shape (len(rows), n)."""
        lengths = self.length[rows]
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        offsets = np.repeat(self.start[rows] - indptr[:-1], lengths)
        picked = np.arange(indptr[-1], dtype=np.int64) + offsets
        return sp.csr_matrix((self.data[picked], self.indices[picked], indptr), shape=(len(rows), self.n))
