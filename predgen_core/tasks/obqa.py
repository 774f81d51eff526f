"""OpenBookQA: elementary science questions with four lettered choices; accuracy.

Native files (``Main/``): ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` with
``{"id", "question": {"stem", "choices": [{"text", "label"}, ...]}, "answerKey"}``.
The hub's flat rows (``question_stem``, ``choices: {text: [...], label: [...]}``) read too.
"""
from predgen_core.tasks.base import TRAIN_DEV_TEST, ClassificationTask, Example, register_task, require_field


@register_task
class OBQA(ClassificationTask):
    name = "obqa"
    description = "OpenBookQA science questions, answer A-D (question.stem, question.choices, answerKey)"
    instruction = "Answer the science question with the letter of the correct choice."
    labels = ("A", "B", "C", "D")
    splits = TRAIN_DEV_TEST
    hub_id, hub_config = "allenai/openbookqa", "main"

    def from_record(self, record, where):
        question = record.get("question")
        if isinstance(question, dict):  # the published JSONL
            stem = require_field(question, "stem", where)
            pairs = [(str(c.get("label")), str(c.get("text"))) for c in question.get("choices", [])]
        else:  # the hub's flat rows
            stem = require_field(record, "question_stem", where)
            choices = record.get("choices") or {}
            pairs = list(zip([str(k) for k in choices.get("label", [])], [str(t) for t in choices.get("text", [])]))
        lines = [f"Question: {stem}"] + [f"{self.labels[self.convert_label(k, where)]}: {t}" for k, t in pairs]
        return Example("\n".join(lines), self.convert_label(record.get("answerKey"), where),
                       {"choices": [t for _, t in pairs]})
