"""Multinomial logistic regression over sparse + dense features, in plain numpy.

Training must run on a care team's machine from ``socialcare sentiment train`` with nothing but
the base install, so no scikit-learn or scipy: the objective is convex and small (a few thousand
labelled messages), and full-batch Adam reaches the same optimum as L-BFGS in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import SparseRows

__all__ = ["LinearModel", "softmax", "train"]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class LinearModel:
    """``softmax(sparse @ w_sparse + dense @ w_dense + bias)``; dense inputs are standardised."""

    w_sparse: np.ndarray
    w_dense: np.ndarray
    bias: np.ndarray
    dense_mean: np.ndarray
    dense_scale: np.ndarray

    def logits(self, sparse: SparseRows, dense: np.ndarray) -> np.ndarray:
        z = sparse.dot(self.w_sparse) + self.bias
        if self.w_dense.size:
            z += ((dense - self.dense_mean) / self.dense_scale) @ self.w_dense
        return z

    def predict_proba(self, sparse: SparseRows, dense: np.ndarray) -> np.ndarray:
        return softmax(self.logits(sparse, dense))


def train(
    sparse: SparseRows,
    dense: np.ndarray,
    labels: np.ndarray,
    *,
    l2: float = 1.0,
    epochs: int = 300,
    learning_rate: float = 0.05,
    classes: int = 3,
) -> LinearModel:
    """Fit by full-batch Adam on mean cross-entropy + ``l2 / (2 n)`` times the squared weights.

    ``l2`` plays the role of scikit-learn's ``1 / C``: larger means a simpler model.
    """
    n = len(labels)
    if n == 0:
        raise ValueError("no training examples")
    mean = dense.mean(axis=0) if dense.size else np.zeros(dense.shape[1])
    scale = dense.std(axis=0) if dense.size else np.ones(dense.shape[1])
    scale = np.where(scale > 1e-8, scale, 1.0)
    dense_std = (dense - mean) / scale
    onehot = np.eye(classes)[labels]
    params = [np.zeros((sparse.width, classes)), np.zeros((dense.shape[1], classes)), np.zeros(classes)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    reg = l2 / n
    for step in range(1, epochs + 1):
        w_sparse, w_dense, bias = params
        probs = softmax(sparse.dot(w_sparse) + dense_std @ w_dense + bias)
        err = (probs - onehot) / n
        grads = [sparse.tdot(err) + reg * w_sparse, dense_std.T @ err + reg * w_dense, err.sum(axis=0)]
        for p, g, m, v in zip(params, grads, moments, squares, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return LinearModel(params[0], params[1], params[2], mean, scale)
