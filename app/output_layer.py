"""Word2Vec's hierarchical-softmax output layer, evaluated with numpy only.

Skip-gram with hierarchical softmax predicts a word u from a word w by walking u's
Huffman path: with ``point_k(u)`` the inner nodes (rows of ``syn1``) and
``code_k(u)`` ∈ {0, 1} the turns,

    log p(u | w) = Σ_k log σ((1 − 2·code_k(u)) · v_w·syn1[point_k(u)])
                 = −Σ_k logaddexp(0, −(1 − 2·code_k(u)) · v_w·syn1[point_k(u)])

(gensim's convention; computed so that it stays finite where log(1 + exp(x)) overflows).
The model artifact stores the paths padded: ``hs_points`` int32 (V, L),
``hs_codes`` int8 (V, L), ``hs_lengths`` int32 (V,), with ``syn1`` float32 (V, d)
(gensim allocates V rows; the tree's V − 1 inner nodes use the first V − 1).

No Python loop runs per word. For given (w, u) pairs, the nodes of each u's path
are gathered and dotted with v_w at once. For the whole vocabulary at once, the
tree is walked top-down, one vectorised step per depth level:
the log-probability of reaching a node is its parent's plus the turn's log σ. A
text's summed log-probability (keywords) goes node by node: the distinct nodes of the
text's paths and how much weight passes through each are gathered (every step kept
for a short text, else a sort, or one count per inner node for long texts), then one
product and one log σ per (word, node).

This was a numba kernel; numpy takes 17 µs for a 20-token text against its 14 µs (and
half its time from about 2,000 tokens), and spares every server worker numba's
compiler (about 110 MiB and 0.35 s at start).
"""

from __future__ import annotations

import numpy as np

from wordlens.app.blocks import products, row_blocks

__all__ = ["LOG_PROB_ALL_BYTES", "HuffmanTree", "TextPaths"]

#: Peak bytes that :meth:`HuffmanTree.log_prob_all` holds per query and vocabulary
#: word, as measured with tracemalloc (float64: the two turns and the reach of each
#: node, then the (V, q) answer and a gathered term; about as many nodes as words).
LOG_PROB_ALL_BYTES = 40

#: Values (input words × path nodes) that :meth:`HuffmanTree.log_prob_from` computes at
#: a time: 1.3 MiB of temporaries.
_FROM_BLOCK = 1 << 16

#: Path steps a text may have for :meth:`HuffmanTree.path_weights` to keep them all
#: rather than gather distinct nodes (a 20-token text has about 300).
_STEPS_KEPT = 1024


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = −logaddexp(0, −x), written as min(x, 0) − log1p(exp(−|x|)): as
    stable (no overflow for any x) and about five times faster than np.logaddexp."""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


class HuffmanTree:
    """The Huffman tree of a vocabulary, ready for vectorised gathers.

    The padded paths stay in the model's memory-mapped arrays (shared by every
    process): a query gathers the rows of its words (:meth:`paths`). What is kept
    besides is O(nodes): the tree top-down by depth, each node's children, and each
    word's last step. A step is encoded as ``node + code·n`` (n = number of ``syn1``
    rows): one index into a table holding log σ(+x) for every node, then log σ(−x).
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.syn1 = np.ascontiguousarray(arrays["syn1"], dtype=np.float32)
        self._points, self._codes = arrays["hs_points"], arrays["hs_codes"]
        self._lengths = np.asarray(arrays["hs_lengths"])
        self.nodes = self.syn1.shape[0]
        words = len(self._lengths)
        width = self._points.shape[1] if self._points.ndim == 2 else 0
        # The tree, top-down: for each inner node below the root, its parent, the
        # (parent, turn) step leading to it and its depth, scattered from a block of
        # words' paths at a time (a node's are the same on every path through it, so
        # repeats write equal values), so that no (V, L) array is held; then each
        # word's last step.
        # int32 throughout: these O(nodes) arrays are what each server worker holds.
        parent_of = np.zeros(self.nodes, dtype=np.int32)
        turn_of = np.zeros(self.nodes, dtype=np.int32)
        depth_of = np.zeros(self.nodes, dtype=np.int32)  # 0: the root, or on no path
        self.children = np.full((self.nodes, 2), -words - 1, dtype=np.int32)
        self.last_nodes = np.zeros(words, dtype=np.int32)
        self.last_steps = np.zeros(words, dtype=np.int32)
        for block in row_blocks(words, max(width, 1)):
            rows = np.arange(block.start, block.stop)
            points, codes = self.paths(rows)
            inside = points < self.nodes
            steps = points + codes * self.nodes
            below = inside[:, 1:]
            kids = points[:, 1:][below]
            parent_of[kids] = points[:, :-1][below]
            turn_of[kids] = steps[:, :-1][below]
            depth_of[kids] = np.broadcast_to(np.arange(1, width), below.shape)[below]
            last = np.arange(len(rows)), self._lengths[block] - 1
            self.last_nodes[block], self.last_steps[block] = points[last], steps[last]
            # children[node, code]: the inner node a turn leads to, or −(word + 1) for a
            # leaf.
            following = np.concatenate([points[:, 1:], np.zeros_like(points[:, :1])], axis=1)
            ends = np.arange(width) == (self._lengths[block] - 1)[:, None]
            following = np.where(ends, -rows[:, None] - 1, following)
            self.children[points[inside], codes[inside]] = following[inside]
        # Each depth's nodes in ascending order: a stable sort of the nodes by depth.
        by_depth = np.argsort(depth_of, kind="stable").astype(np.int32)
        bounds = np.cumsum(np.bincount(depth_of, minlength=1))
        self.levels = [
            (nodes, parent_of[nodes], turn_of[nodes])
            for nodes in np.split(by_depth, bounds[:-1])[1:]
        ]
        self.depth = int(self._lengths.max(initial=0))  # the longest path, in nodes
        self.largest_node = float(np.linalg.norm(self.syn1, axis=1).max(initial=0.0))
        self.root = int(self._points[0, 0]) if words else 0
        self.depth_nodes = [np.array([self.root])] + [children for children, _, _ in self.levels]

    def paths(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The padded paths of the words ``targets`` (n,): inner nodes int64 (n, L),
        padding as node n (one past the last ``syn1`` row), and turns int64 (n, L),
        padding 0."""
        targets = np.asarray(targets)
        points = np.asarray(self._points[targets], dtype=np.int64)
        inside = np.arange(points.shape[1]) < self._lengths[targets][:, None]
        codes = np.where(inside, self._codes[targets], 0).astype(np.int64)
        return np.where(inside, points, self.nodes), codes

    def log_prob_all(self, vectors: np.ndarray) -> np.ndarray:
        """log p(u | w) for every word u of the vocabulary, for one input vector v_w
        (d,) or several (q, d): float64 (V,) or (q, V).

        One (n, d)·(d, q) product, then a gather along the paths, all queries at once:
        the walk runs on (nodes, q) arrays, so each level gathers whole rows. Holds
        five float64 values per query and word at its peak (:data:`LOG_PROB_ALL_BYTES`).
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        dots = (self.syn1 @ np.atleast_2d(matrix).T).astype(np.float64)  # (n, q)
        positive = _log_sigmoid(dots)
        turn = np.concatenate([positive, positive - dots])  # log σ(−x) = log σ(x) − x
        del dots, positive
        reach = np.zeros((self.nodes, turn.shape[1]))  # log-probability of each node
        for children, parents, steps in self.levels:
            reach[children] = reach[parents] + turn[steps]
        scores = (reach[self.last_nodes] + turn[self.last_steps]).T
        return scores[0] if matrix.ndim == 1 else scores

    def subtree_max(self, leaf_values: np.ndarray) -> np.ndarray:
        """For every inner node, the largest of ``leaf_values`` (V,) over the words
        below it, float64 (n,) (0 for a row of ``syn1`` on no path): bottom-up, one
        vectorised step per depth."""
        best = np.zeros(self.nodes)
        values = np.asarray(leaf_values, dtype=np.float64)
        for nodes in reversed(self.depth_nodes):
            kids = self.children[nodes]
            below = np.where(kids < 0, values[np.maximum(-kids - 1, 0)], best[np.maximum(kids, 0)])
            best[nodes] = below.max(axis=1)
        return best

    def best_scored(
        self,
        vector: np.ndarray,
        count: int,
        bonus: np.ndarray,
        bound: np.ndarray,
        beam: int,
        weight: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows int64 (k,), k ≤ ``count``, of (about) the ``count`` words with the largest
        log p(u | w) + weight·bonus[u] (``vector`` is v_w), by a pruned walk down the
        tree, one vectorised step per depth: a node is dropped when its reach plus
        weight·``bound[node]`` (at least the largest weighted bonus below it) cannot
        beat the ``count``-th best word found so far, and at most ``beam`` nodes, those
        of highest reach, go on to the next depth. Exact when the beam never overflows;
        each step costs (beam, d)·(d,). (``weight`` spares a (V,) product per query.)

        The beam ranks by reach, not by the bound: the bound's bonus is about the
        largest −log p of the vocabulary below nearly every node, so it ranks nodes
        hardly better than reach does, while rare words far below a node make the
        bound loose. On a trained 475 k-word model the ancestors of the exact top 10
        ranked at worst 756th by reach at their depth, 14,077th by the bound (README).

        Their scores come with them, float64 (k,), best first: log p(u | w) computed
        as :meth:`log_prob_all` computes it (a float32 product per node, log σ in
        float64), plus weight·bonus[u].
        """
        vector = np.asarray(vector, dtype=np.float32)
        frontier, reach = np.array([self.root]), np.zeros(1)
        rows: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        threshold = -np.inf
        while frontier.size:
            dots = (self.syn1[frontier] @ vector).astype(np.float64)
            positive = _log_sigmoid(dots)
            turned = np.concatenate([reach + positive, reach + positive - dots])
            kids = self.children[frontier].T.reshape(-1)  # code 0 of all, then code 1
            leaves = kids < 0
            if leaves.any():
                words = -kids[leaves] - 1
                rows.append(words)
                scores.append(turned[leaves] + weight * bonus[words])
                found = np.concatenate(scores)
                if len(found) >= count:
                    threshold = np.partition(found, len(found) - count)[len(found) - count]
            nodes, reached = kids[~leaves], turned[~leaves]
            keep = reached + weight * bound[nodes] > threshold
            nodes, reached = nodes[keep], reached[keep]
            if len(nodes) > beam:
                best = np.argpartition(-reached, beam - 1)[:beam]
                nodes, reached = nodes[best], reached[best]
            frontier, reach = nodes, reached
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        found_rows, found = np.concatenate(rows), np.concatenate(scores)
        best = np.argsort(-found, kind="stable")[:count]
        return found_rows[best].astype(np.int64), found[best]

    def log_prob(self, vectors: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """log p(targets[i] | w_i) for input vectors (n, d) and target rows (n,), pair by
        pair: float64 (n,). Gathers the inner nodes of each target's path, (block, L, d)
        for a block of pairs at a time; each pair's value is computed on its own (the
        same whatever the other pairs)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        targets = np.asarray(targets)
        result = np.empty(len(targets))
        for block in row_blocks(len(targets), self._points.shape[1] * self.syn1.shape[1]):
            points, codes = self.paths(targets[block])
            inside = points < self.nodes
            nodes = self.syn1[np.where(inside, points, 0)]
            dots = np.einsum("nd,nld->nl", vectors[block], nodes)
            turns = 1 - 2 * codes.astype(np.float64)
            result[block] = np.where(inside, _log_sigmoid(turns * dots), 0.0).sum(axis=1)
        return result

    def log_prob_from(self, vectors: np.ndarray, target: int) -> np.ndarray:
        """log p(target | w) of one target word for every input vector v_w of
        ``vectors`` (V, d), float64 (V,): the target's path nodes (L, d) against a
        block of vectors at a time, (block, d)·(d, L) products."""
        points, codes = self.paths(np.array([target]))
        inside = points[0] < self.nodes
        nodes = self.syn1[points[0][inside]]  # (L, d)
        turns = (1 - 2 * codes[0][inside]).astype(np.float64)
        result = np.empty(len(vectors))
        # _log_sigmoid in place: two float64 temporaries of a block, not five
        for block in row_blocks(len(vectors), len(nodes), _FROM_BLOCK):
            x = products(vectors[block], nodes.T).astype(np.float64)
            x *= turns
            below = np.minimum(x, 0).sum(axis=1)
            np.abs(x, out=x)
            np.negative(x, out=x)
            np.exp(x, out=x)
            np.log1p(x, out=x)
            result[block] = below - x.sum(axis=1)
        return result

    def log_prob_sum(
        self, vectors: np.ndarray, targets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """Σ_j weights[j] · log p(targets[j] | w_i) for input vectors (n, d), float64 (n,):
        :meth:`TextPaths.sums` of :meth:`text_paths`."""
        return self.text_paths(targets, weights).sums(vectors)

    def path_weights(
        self, targets: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The inner nodes on the paths of ``targets`` (n,), each target weighted by
        ``weights`` (n,): their ``syn1`` rows (k, d) float32, half the weight of the
        paths through each, and that minus the weight of the paths turning there with
        code 1, both (k,) float64 (:class:`TextPaths`)."""
        paths = self.text_paths(targets, weights)
        return paths.rows, paths.half, paths.linear

    def text_paths(self, targets: np.ndarray, weights: np.ndarray) -> TextPaths:
        """The paths of ``targets`` (n,), each weighted by ``weights`` (n,), gathered
        node by node (:class:`TextPaths`).

        A short text keeps every step of its paths (up to _STEPS_KEPT): gathering the
        distinct nodes would cost more than the few repeated columns (the top of the
        tree) it saves; longer ones gather each node once."""
        points, codes = self.paths(np.asarray(targets, dtype=np.int64))  # padding: nodes
        inside = points < self.nodes
        nodes = points[inside]
        weight = np.broadcast_to(np.asarray(weights, dtype=np.float64)[:, None], points.shape)
        weight = weight[inside]
        turned = np.where(codes[inside] != 0, weight, 0.0)
        half = weight / 2
        steps = half, half - turned
        lengths = np.count_nonzero(inside, axis=1)
        starts = np.concatenate(([0], np.cumsum(lengths[:-1], dtype=np.int64)))
        if len(nodes) <= _STEPS_KEPT:
            return TextPaths(self.syn1[nodes], *steps, None, steps, starts)
        if 16 * len(nodes) > self.nodes:
            # A long text: one count per inner node beats sorting the steps.
            distinct = np.flatnonzero(np.bincount(nodes, minlength=self.nodes))
            inverse = np.zeros(self.nodes, dtype=np.int64)
            inverse[distinct] = np.arange(len(distinct))
            inverse = inverse[nodes]
        else:
            distinct, inverse = np.unique(nodes, return_inverse=True)
        through = np.bincount(inverse, weight, minlength=len(distinct)) / 2
        linear = through - np.bincount(inverse, turned, minlength=len(distinct))
        return TextPaths(self.syn1[distinct], through, linear, inverse, steps, starts)

    def path_nodes(self, targets: np.ndarray) -> int:
        """How many distinct inner nodes the paths of ``targets`` go through."""
        through = np.zeros(self.nodes + 1, dtype=bool)
        through[self.paths(targets)[0]] = True
        return int(np.count_nonzero(through[:-1]))


class TextPaths:
    """The Huffman paths of a text's distinct tokens (the *targets*), weighted, ready
    to score input vectors against (:meth:`HuffmanTree.text_paths`).

    Node by node: ``rows`` (k, d) float32, the ``syn1`` rows of the nodes (a node may
    come more than once: its weights add up), ``half`` (k,) float64, half the weight
    of the paths through each, and ``linear`` (k,), that minus the weight of the
    paths turning there with code 1. Step by step, target after target: each step's
    column of ``rows`` (``columns`` int64 (s,); None when each step has its own),
    its own half and linear weights (``steps``, two (s,) float64), and where each
    target's steps begin (``starts`` int64 (n,)).

    With x = v·syn1[k], a path through node k adds log σ(x) − code·x, and
    log σ(x) = x/2 − r/2 with r = |x| + 2·log(1 + exp(−|x|)); so the weighted sum of
    log p(target | v) over the targets is Σ_k linear_k·x_k − half_k·r_k (two products,
    :meth:`sums`), and one target's term the same sum over its own steps (:meth:`terms`).
    """

    def __init__(
        self,
        rows: np.ndarray,
        half: np.ndarray,
        linear: np.ndarray,
        columns: np.ndarray | None,
        steps: tuple[np.ndarray, np.ndarray],
        starts: np.ndarray,
    ):
        self.rows, self.half, self.linear = rows, half, linear
        self.columns, self.steps, self.starts = columns, steps, starts
        # x and r of the vectors :meth:`sums` last scored in one block, for :meth:`terms`
        self._kept: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def parts(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x = v·syn1[k] and r = |x| + 2·log(1 + exp(−|x|)) for every input vector
        (n, d) and node k: two float32 (n, k)."""
        dots = np.asarray(vectors, dtype=np.float32) @ self.rows.T
        rest = np.abs(dots)
        # float32 log is vectorised, log1p is not (8× slower); what log1p would add
        # is below 6e-8 per term.
        size = np.negative(rest)
        np.exp(size, out=size)
        size += 1
        np.log(size, out=size)
        size *= 2
        rest += size
        return dots, rest

    def sums(self, vectors: np.ndarray) -> np.ndarray:
        """Σ_j weight_j · log p(target_j | v_i) for input vectors (n, d), float64 (n,),
        a block of vectors at a time (memory bounded whatever n and the paths)."""
        scores = np.empty(len(vectors))
        blocks = list(row_blocks(len(vectors), len(self.rows)))  # (block, nodes) at a time
        for block in blocks:
            dots, rest = self.parts(vectors[block])
            scores[block] = dots.astype(np.float64) @ self.linear
            scores[block] -= rest.astype(np.float64) @ self.half
        self._kept = (vectors, dots, rest) if len(blocks) == 1 else None
        return scores

    def terms(self, vectors: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """weight_j · log p(target_j | v) for the input vectors ``vectors[positions]``
        and each target j, float64 (len(positions), n): the products :meth:`sums` made
        of the same ``vectors`` (in one block) when it kept them, else made anew for
        those vectors only. Each row adds up to their :meth:`sums`."""
        step_half, step_linear = self.steps
        result = np.zeros((len(positions), len(self.starts)))
        if not len(step_half):
            return result
        kept = self._kept
        for block in row_blocks(len(positions), len(step_half)):
            if kept is not None and kept[0] is vectors:
                dots, rest = kept[1][positions[block]], kept[2][positions[block]]
            else:
                dots, rest = self.parts(vectors[positions[block]])
            if self.columns is not None:
                dots, rest = dots[:, self.columns], rest[:, self.columns]
            step_terms = dots * step_linear - rest * step_half  # float64 (block, s)
            result[block] = np.add.reduceat(step_terms, self.starts, axis=1)
        return result
