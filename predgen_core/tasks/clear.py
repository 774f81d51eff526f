"""CLEAR (CommonLit Ease of Readability): how easy a passage is to read, a Bradley-Terry score; MSE and MAE.

Native files: the CommonLit Readability Prize's ``train.csv`` (``id, url_legal,
license, excerpt, target, standard_error``) or a CSV export of the CLEAR corpus
(``CLEAR_corpus_final.csv``: ``Excerpt``, ``BT Easiness``, ...). Neither has a
labelled validation split, so the labelled corpus is split 80/20 once (seed 0).
Scores run from about -3.7 (hardest) to 1.7 (easiest).
"""
import random

from predgen_core.data import read_csv
from predgen_common.errors import UserError
from predgen_core.tasks.base import Example, RegressionTask, register_task, require_field

_CORPUS = {"train.csv": read_csv, "CLEAR_corpus_final.csv": read_csv, "CLEAR.csv": read_csv}
_VALIDATION_FRACTION, _SEED = 0.2, 0


@register_task
class CLEAR(RegressionTask):
    name = "clear"
    description = "CommonLit Ease of Readability, easiness -4..2 (excerpt, target; fixed 80/20 split)"
    instruction = "How easy is the passage to read, from -4.00 (very hard) to 2.00 (very easy)?"
    answer_label = "Easiness"
    low, high, decimals = -4.0, 2.0, 2
    splits = {"train": ("train",), "validation": ("validation",)}
    native_files = {"train": _CORPUS, "validation": _CORPUS}

    def source_records(self, split, data_dir=None):
        records, where = super().source_records(split, data_dir)
        if not any(where.endswith(name) for name in _CORPUS):
            return records, where  # a <split>.jsonl/.csv the user split already
        order = list(range(len(records)))
        random.Random(_SEED).shuffle(order)
        n_val = round(len(order) * _VALIDATION_FRACTION)
        keep = sorted(order[:n_val] if split == "validation" else order[n_val:])
        return [records[i] for i in keep], where

    def from_record(self, record, where):
        key = "excerpt" if "excerpt" in record else "Excerpt"
        text = require_field(record, key, where)
        label = next((record[k] for k in ("target", "BT Easiness", "BT_easiness") if k in record), None)
        if label is None:
            raise UserError(f"{where} has no 'target' (or 'BT Easiness') field; use the labelled train.csv")
        return Example(f"Passage: {text}", self.convert_label(label, where), {"excerpt": text})
