"""HellaSwag: the most plausible of four endings for a context; accuracy.

Native files: ``hellaswag_train.jsonl``, ``hellaswag_val.jsonl`` with rows
``{"ind", "activity_label", "ctx_a", "ctx_b", "ctx", "endings": [4 strings], "label": 0-3, ...}``
(the hub has the same fields, ``label`` as a string). The test file has no labels.
"""
from predgen_core.data import read_jsonl
from predgen_common.errors import UserError
from predgen_core.tasks.base import ClassificationTask, Example, per_split, register_task, require_field


@register_task
class HellaSwag(ClassificationTask):
    name = "hellaswag"
    description = "HellaSwag commonsense sentence endings, 4 options (ctx, endings, label)"
    instruction = "Which ending continues the text most plausibly? Answer Ending 1, 2, 3 or 4."
    labels = tuple(f"Ending {i}" for i in range(1, 5))
    native_files = per_split(read_jsonl, train="hellaswag_train.jsonl", validation="hellaswag_val.jsonl")
    hub_id = "Rowan/hellaswag"

    def from_record(self, record, where):
        context = require_field(record, "ctx", where)
        endings = [str(e).strip() for e in record.get("endings") or []]
        if len(endings) != len(self.labels):
            raise UserError(f"{where} has {len(endings)} endings, HellaSwag rows have {len(self.labels)}; fix the data")
        topic = str(record.get("activity_label") or "").strip()
        lines = ([f"Topic: {topic}"] if topic else []) + [f"Context: {context}"]
        lines += [f"{word}: {ending}" for word, ending in zip(self.labels, endings)]
        return Example("\n".join(lines), self.convert_label(record.get("label"), where), {"endings": endings})
