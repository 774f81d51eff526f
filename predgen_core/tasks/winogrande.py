"""WinoGrande: which of two names fills the blank ``_`` of a sentence; accuracy.

Native files: ``train_xl.jsonl`` (the largest training size; ``train.jsonl`` too) and
``dev.jsonl``, rows ``{"qID", "sentence", "option1", "option2", "answer": "1" | "2"}``.
The published test file has no answers, so there is no test split.
"""
from predgen_core.data import read_jsonl
from predgen_core.tasks.base import MultipleChoiceTask, register_task


@register_task
class WinoGrande(MultipleChoiceTask):
    name = "winogrande"
    description = "WinoGrande pronoun-style blanks, 2 options (sentence, option1, option2, answer 1/2)"
    instruction = "Which option fills the blank (_) in the sentence? Answer Option 1 or Option 2."
    label_field = "answer"
    label_aliases = {"1": 0, "2": 1}  # answers count from 1
    question_field, question_label = "sentence", "Sentence"
    option_fields, option_word = ("option1", "option2"), "Option"
    native_files = {"train": {"train_xl.jsonl": read_jsonl}}
    hub_id, hub_config = "allenai/winogrande", "winogrande_xl"
