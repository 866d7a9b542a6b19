"""Do a DEAM tree's static labels and its 2 Hz curves name the same dimensions?  Checked per dimension.

Used by: ``notebooks/phase4_dynamic.py`` (which baseline the page may use) and ``notebooks/data_corpus.py``
(the data page reports the check), through :func:`static_curve_agreement`.

Why.  DEAM's 2 Hz files for songs 2..1000 come from the emoMusic release, and one of the two releases has
the dimensions crossed: over the 744 songs of ``../shared/deam-sample``, the static file's ``valence_mean``
correlates r 0.956 with the mean of the *arousal* curve and only 0.575 with the valence curve, and
``arousal_mean`` 0.95 with the valence curve.  Phase 4's constant baseline carries a static model's prediction
onto the curves' scale by a map fitted from each song's static label to its curve's mean
(:func:`mer_utils.phase4.static.fit_scale_map`); on a crossed tree that map would pair one dimension's static
labels with the other's curves.  So the check runs on every song that has both kinds of labels (audio or
not: the more songs, the surer the verdict), the page reports the four correlations with the file names,
and on a crossed tree the baseline is refit on the curves themselves (the MediaEval setting's song-level
Ridge, :func:`mer_utils.phase4.static.fit_song_ridge`), so no model learns one dimension's static labels
against the other's curves.

The verdict (:attr:`Agreement.crossed`): crossed when each static dimension correlates more with the other
dimension's curve means than with its own.  SynthDEAM's files agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DIMENSIONS = ("valence", "arousal")
MIN_SONGS = 10  # fewer songs with both kinds of labels: no verdict


@dataclass
class Agreement:
    """Pearson r between each static dimension (song means, 1..9) and each curve dimension's song means (-1..1),
    over ``songs`` songs that have both; ``files`` names the files compared."""

    table: pd.DataFrame  # static, curve, r
    songs: int
    files: dict

    def r(self, static: str, curve: str) -> float:
        row = self.table[(self.table["static"] == static) & (self.table["curve"] == curve)]
        return float(row["r"].iloc[0])

    @property
    def decided(self) -> bool:
        return self.songs >= MIN_SONGS

    @property
    def crossed(self) -> bool:
        """Each static dimension closer to the other dimension's curves than to its own."""
        v, a = DIMENSIONS
        return self.decided and self.r(v, a) > self.r(v, v) and self.r(a, v) > self.r(a, a)

    def sentence(self) -> str:
        """The check in one paragraph, with the four correlations and the file names."""
        v, a = DIMENSIONS
        numbers = (f"static valence vs curve valence r {self.r(v, v):.2f}, vs curve arousal r {self.r(v, a):.2f}; "
                   f"static arousal vs curve arousal r {self.r(a, a):.2f}, vs curve valence r {self.r(a, v):.2f}")
        compared = f"`{self.files['static']}` against `{self.files['valence']}` and `{self.files['arousal']}`"
        if not self.decided:
            return (f"Only {self.songs} songs have both static labels and 2 Hz curves ({compared}), too few to check "
                    f"that the two name the same dimensions ({numbers}).")
        if self.crossed:
            return (f"**The static labels and the 2 Hz curves name crossed dimensions.** Over the {self.songs} songs "
                    f"that have both ({compared}): {numbers}. One of the two releases has valence and arousal "
                    "swapped, so no model here learns one dimension's static labels against the other's curves: "
                    "Phase 4's constant baseline is refit on the curves' own song means instead of mapping the "
                    "static models onto them.")
        return (f"The static labels and the 2 Hz curves name the same dimensions: over the {self.songs} songs that "
                f"have both ({compared}), {numbers}.")


def static_curve_agreement(root, subset: str = "1_2000") -> Agreement:
    """The check on the DEAM-layout tree at ``root``: every song with a static label in ``subset``'s file and a
    2 Hz curve (the tree's audio plays no part)."""
    from ..corpus.deam import DYNAMIC_FILES, STATIC_FILES, load_dynamic_annotations, load_static_annotations

    static = load_static_annotations(root, subset)
    static = static.set_index("song_id") if "song_id" in static.columns else static
    curve_means = pd.DataFrame({d: load_dynamic_annotations(root, d).mean(axis=1) for d in DIMENSIONS}).dropna()
    shared = static.index.intersection(curve_means.index)
    rows = []
    for s in DIMENSIONS:
        for c in DIMENSIONS:
            x, y = static.loc[shared, f"{s}_mean"].to_numpy(float), curve_means.loc[shared, c].to_numpy(float)
            r = float(np.corrcoef(x, y)[0, 1]) if len(shared) > 2 else float("nan")
            rows.append({"static": s, "curve": c, "r": r})
    files = {"static": STATIC_FILES[subset], **DYNAMIC_FILES}
    return Agreement(pd.DataFrame(rows), int(len(shared)), files)


def dimension_check(corpus) -> Agreement | None:
    """:func:`static_curve_agreement` for a corpus in DEAM's layout with both kinds of labels (DEAM, SynthDEAM),
    else ``None`` (a corpus whose curves are its static labels' source, or that has no curves)."""
    from ..errors import MerError

    try:
        return static_curve_agreement(corpus.root)
    except (MerError, KeyError, OSError, AttributeError):
        return None
