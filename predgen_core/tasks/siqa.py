"""Social IQa: the best of three answers to a question about a social situation; accuracy.

Native files (``socialiqa-train-dev/``): ``train.jsonl`` + ``train-labels.lst`` and
``dev.jsonl`` + ``dev-labels.lst``; rows ``{"context", "question", "answerA",
"answerB", "answerC"}`` and, line by line in the ``.lst`` file, the answer 1-3.
Rows that carry their own ``label`` (the hub's) read without the ``.lst`` file.
"""
from pathlib import Path

from predgen_core.data import read_jsonl
from predgen_common.errors import UserError
from predgen_core.tasks.base import ClassificationTask, Example, per_split, register_task, require_field


def read_with_labels(path: Path) -> list[dict]:
    """``<stem>.jsonl`` rows with the answers of ``<stem>-labels.lst`` (when it exists) as ``label``."""
    rows = read_jsonl(path)
    labels_file = path.with_name(f"{path.stem}-labels.lst")
    if not labels_file.is_file():
        return rows
    labels = [line.strip() for line in labels_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(labels) != len(rows):
        raise UserError(f"{labels_file} has {len(labels)} labels for {len(rows)} rows of {path}; use the matching pair")
    return [{**row, "label": label} for row, label in zip(rows, labels)]


@register_task
class SIQA(ClassificationTask):
    name = "siqa"
    description = "Social IQa social commonsense, 3 options (context, question, answerA-C, label 1-3)"
    instruction = "Read the situation and answer the question. Answer A, B or C."
    labels = ("A", "B", "C")
    label_aliases = {"1": 0, "2": 1, "3": 2}  # answers count from 1
    native_files = per_split(read_with_labels, train="train.jsonl", validation="dev.jsonl")
    hub_id = "allenai/social_i_qa"

    def from_record(self, record, where):
        context, question = require_field(record, "context", where), require_field(record, "question", where)
        answers = [require_field(record, f"answer{letter}", where) for letter in self.labels]
        lines = [f"Situation: {context}", f"Question: {question}"]
        lines += [f"{letter}: {answer}" for letter, answer in zip(self.labels, answers)]
        return Example("\n".join(lines), self.convert_label(record.get("label"), where), {"answers": answers})
