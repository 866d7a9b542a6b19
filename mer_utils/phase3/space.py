"""Reading an embedding space: a t-SNE map, and how well neighbours share a label.

Used by: ``notebooks/phase3_panns.py`` (the t-SNE figures and their numbers).

t-SNE keeps neighbourhoods, not distances, so a picture alone is easy to
over-read.  :func:`neighbour_agreement` puts a number on what the colours
show: the correlation between a song's label and the mean label of its nearest
neighbours, on the map or in the full space.
"""

from __future__ import annotations

import numpy as np

from ..errors import MerError


def tsne_map(embeddings: np.ndarray, seed: int = 42, perplexity: float | None = None) -> tuple[np.ndarray, float]:
    """2-D t-SNE coordinates of the rows of ``embeddings`` (scikit-learn, PCA start, seeded).

    The perplexity defaults to 30, lowered to ``(n - 1) / 3`` for small sets
    (t-SNE needs it below the number of points).  Returns ``(coords, perplexity)``.
    """
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    if n < 5:
        raise MerError(f"t-SNE needs at least 5 songs, got {n}.")
    if perplexity is None:
        perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    from threadpoolctl import threadpool_limits

    scaled = StandardScaler().fit_transform(embeddings)
    with threadpool_limits(limits=1):  # a few hundred points: one thread is quick and never stalls on a busy machine
        coords = TSNE(
            n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=int(seed)
        ).fit_transform(scaled)
    return coords, perplexity


def neighbour_agreement(points: np.ndarray, values, k: int = 10) -> float:
    """Pearson r between each point's value and the mean value of its ``k`` nearest neighbours.

    Near 0: the map (or space) does not order songs by that value; near 1: it
    does so smoothly.  A number to go with the t-SNE pictures.
    """
    from sklearn.neighbors import NearestNeighbors

    points, values = np.asarray(points, dtype=float), np.asarray(values, dtype=float)
    k = int(min(k, len(points) - 1))
    if k < 1:
        return float("nan")
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    neighbour_mean = values[index[:, 1:]].mean(axis=1)
    return float(np.corrcoef(values, neighbour_mean)[0, 1])


def map_agreement(coords: np.ndarray, embeddings: np.ndarray, labels, targets=None, k: int = 10) -> tuple[dict, dict]:
    """:func:`neighbour_agreement` of every target on the t-SNE map and in the full embedding space.

    ``labels`` is indexed like the rows of ``coords`` and ``embeddings``; ``k``
    is lowered to a quarter of the songs on a small corpus.  Returns
    ``(on_map, in_space)``, each ``{target: r}``.
    """
    from ..corpus.base import TARGETS

    targets = list(targets or TARGETS)
    k = int(max(1, min(k, len(labels) // 4)))
    on_map = {t: neighbour_agreement(coords, labels[t], k=k) for t in targets}
    in_space = {t: neighbour_agreement(embeddings, labels[t], k=k) for t in targets}
    return on_map, in_space
