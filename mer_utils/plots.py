"""Figures of the book: labelled axes, units and readable sizes.

Each function draws one kind of figure and returns the matplotlib Figure; the
notebooks call them and add nothing but the reading.  Phase 1 (EDA, feature
selection), Phase 2 (learning curves) and Phase 3 (t-SNE) figures live here.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TARGET_LABELS = {"valence_mean": "mean valence (1–9)", "arousal_mean": "mean arousal (1–9)"}
