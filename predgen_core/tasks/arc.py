"""ARC-Easy: grade-school science questions with 3-5 lettered choices; accuracy.

Shows a task whose records are nested (``choices: {text: [...], label: [...]}``):
it overrides ``from_record`` and nothing else.
"""
from predgen_core.tasks.base import TRAIN_DEV_TEST, ClassificationTask, Example, register_task, require_field


@register_task
class ARCEasy(ClassificationTask):
    name = "arc-easy"
    description = "AI2 ARC-Easy science questions, answer A-E (question, choices, answerKey)"
    instruction = "Answer the science question with the letter of the correct choice."
    labels = ("A", "B", "C", "D", "E")
    label_aliases = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}  # a few ARC rows number their choices
    splits = TRAIN_DEV_TEST
    hub_id, hub_config = "allenai/ai2_arc", "ARC-Easy"

    def from_record(self, record, where):
        question = require_field(record, "question", where)
        choices = record.get("choices") or {}
        texts, keys = list(choices.get("text", [])), [str(k) for k in choices.get("label", [])]
        letters = [self.labels[self.convert_label(k, where)] for k in keys]
        lines = [f"Question: {question}"] + [f"{letter}: {text}" for letter, text in zip(letters, texts)]
        return Example("\n".join(lines), self.convert_label(record.get("answerKey"), where), {"choices": texts})
