"""Word2Vec's hierarchical-softmax output layer, evaluated with numpy only.

Skip-gram with hierarchical softmax predicts a word u from a word w by walking u's
Huffman path: with ``point_k(u)`` the inner nodes (rows of ``syn1``) and
``code_k(u)`` ∈ {0, 1} the turns,

    log p(u | w) = Σ_k log σ((1 − 2·code_k(u)) · v_w·syn1[point_k(u)])
                 = −Σ_k logaddexp(0, −(1 − 2·code_k(u)) · v_w·syn1[point_k(u)])

(gensim's convention; computed so that it stays finite where log(1 + exp(x)) overflows).
The model artifact stores the paths padded: ``hs_points`` int32 (V, L),
``hs_codes`` int8 (V, L), ``hs_lengths`` int32 (V,), with ``syn1`` float32 (V, d).

Every log σ(±x) a path needs is computed once per distinct (node, turn) and then
gathered along the paths, so no Python loop runs per word. For the whole vocabulary
at once, the tree is walked top-down instead, one vectorised step per depth level:
the log-probability of reaching a node is its parent's plus the turn's log σ.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HuffmanPaths"]


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = −logaddexp(0, −x), written as min(x, 0) − log1p(exp(−|x|)): as
    stable (no overflow for any x) and about five times faster than np.logaddexp."""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


class HuffmanPaths:
    """The padded Huffman paths of a vocabulary, ready for vectorised gathers.

    ``steps`` int64 (V, L) encodes each path step as ``node + code·n`` (n = number of
    ``syn1`` rows) and padding as ``2n``: one index into a table holding log σ(+x)
    for every node, then log σ(−x), then a 0 for the padding.
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.syn1 = arrays["syn1"]
        points = np.asarray(arrays["hs_points"], dtype=np.int64)
        codes = np.asarray(arrays["hs_codes"], dtype=np.int64)
        lengths = np.asarray(arrays["hs_lengths"], dtype=np.int64)
        self.nodes = self.syn1.shape[0]
        inside = np.arange(points.shape[1]) < lengths[:, None]
        self.steps = np.where(inside, points + codes * self.nodes,
                              2 * self.nodes).astype(np.int32)
        # The tree, top-down: for each depth, the inner nodes there, their parents and
        # the (parent, turn) step leading to them; then each word's last step.
        below = inside[:, 1:]
        children = points[:, 1:][below]
        parents = points[:, :-1][below]
        turns = self.steps[:, :-1][below]
        depths = np.broadcast_to(np.arange(1, points.shape[1]), below.shape)[below]
        children, first = np.unique(children, return_index=True)
        parents, turns, depths = parents[first], turns[first], depths[first]
        self.levels = [(children[depths == d], parents[depths == d], turns[depths == d])
                       for d in range(1, int(depths.max(initial=0)) + 1)]
        last = np.arange(len(lengths)), lengths - 1
        self.last_nodes = points[last]
        self.last_steps = self.steps[last]

    def log_prob_all(self, vector: np.ndarray) -> np.ndarray:
        """log p(u | w) for every word u of the vocabulary; ``vector`` is v_w (d,).

        Returns float64 (V,): one (n, d)·(d,) product, then a gather along the paths.
        """
        dots = (self.syn1 @ np.asarray(vector, dtype=np.float32)).astype(np.float64)
        positive = _log_sigmoid(dots)
        turn = np.concatenate([positive, positive - dots])  # log σ(−x) = log σ(x) − x
        reach = np.zeros(self.nodes)  # log-probability of reaching each inner node
        for children, parents, steps in self.levels:
            reach[children] = reach[parents] + turn[steps]
        return reach[self.last_nodes] + turn[self.last_steps]

    def _step_values(self, vectors: np.ndarray, steps: np.ndarray):
        """log σ(±v·θ) for the distinct steps among ``steps``: (values float32
        (n, distinct), position of each step among the distinct ones)."""
        distinct, position = np.unique(steps, return_inverse=True)
        # The padding step (2n, the largest) can only be last; its value is 0.
        real = distinct[:-1] if distinct[-1] == 2 * self.nodes else distinct
        turned = real >= self.nodes
        dots = np.asarray(vectors, dtype=np.float32) @ self.syn1[real - turned * self.nodes].T
        dots[:, turned] *= -1
        values = np.zeros((dots.shape[0], len(distinct)), dtype=np.float32)
        values[:, :len(real)] = _log_sigmoid(dots)
        return values, position.reshape(steps.shape)

    def log_prob(self, vectors: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """log p(targets[j] | w_i) for input vectors (n, d) and target rows (m,).

        Returns float64 (n, m). Only the inner nodes on the targets' paths are touched.
        """
        values, position = self._step_values(vectors, self.steps[np.asarray(targets)])
        return values[:, position].sum(axis=2, dtype=np.float64)

    def log_prob_sum(self, vectors: np.ndarray, targets: np.ndarray,
                     weights: np.ndarray) -> np.ndarray:
        """Σ_j weights[j] · log p(targets[j] | w_i), float64 (n,).

        The same as ``log_prob(vectors, targets) @ weights``, without the (n, m, L)
        gather: each distinct path step's weight is summed first.
        """
        steps = self.steps[np.asarray(targets)]
        values, position = self._step_values(vectors, steps)
        step_weights = np.bincount(position.ravel(), minlength=values.shape[1],
                                   weights=np.repeat(np.asarray(weights, dtype=np.float64),
                                                     steps.shape[1]))
        return values.astype(np.float64) @ step_weights
