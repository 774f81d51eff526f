"""STS-B: semantic similarity of a sentence pair, a score in [0, 5]; MSE and MAE."""
from typing import ClassVar

from predgen_core.data import read_tsv_columns
from predgen_core.tasks.base import RegressionTask, per_split, register_task

# The benchmark's own distribution: tab-separated, no header, a few rows with extra trailing fields.
_read = read_tsv_columns(("genre", "file", "year", "id", "label", "sentence1", "sentence2"))


class SentencePairScore(RegressionTask):
    """A graded score of how close two sentences are in meaning (STS-B, SICK): one prompt wording."""

    relation: ClassVar[str] = "similar"      # "How <relation> in meaning are ..."
    top: ClassVar[str] = "equivalent"        # what the highest score means
    decimals = 2

    @property
    def instruction(self) -> str:  # type: ignore[override]
        return (f"How {self.relation} in meaning are the two sentences, from {self.low:.{self.decimals}f} "
                f"(unrelated) to {self.high:.{self.decimals}f} ({self.top})?")


@register_task
class STSB(SentencePairScore):
    name = "stsb"
    description = "STS benchmark sentence-pair similarity, 0-5 (train 5,749 / dev 1,500 / test 1,379)"
    answer_label = "Similarity"
    low, high = 0.0, 5.0
    text_fields = {"sentence1": "Sentence 1", "sentence2": "Sentence 2"}
    splits = {"train": ("train",), "validation": ("validation", "dev", "val"), "test": ("test",)}
    native_files = per_split(_read, train="sts-train.csv", validation="sts-dev.csv", test="sts-test.csv")
    hub_id, hub_config = "nyu-mll/glue", "stsb"
    hub_splits = {"train": "train", "validation": "validation"}
