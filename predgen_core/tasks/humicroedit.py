"""Humicroedit (SemEval-2020 Task 7, subtask 1): how funny a one-word edit makes a news headline, 0-3; MSE and MAE.

Files: ``train.csv``, ``dev.csv``, ``test.csv`` with ``id, original, edit, grades,
meanGrade``; ``original`` marks the replaced word as ``<word/>``.
"""
import re

from predgen_common.errors import UserError
from predgen_core.tasks.base import TRAIN_DEV_TEST, Example, RegressionTask, register_task, require_field

_EDITED = re.compile(r"<([^<>]*)/>")


@register_task
class Humicroedit(RegressionTask):
    name = "humicroedit"
    description = "SemEval-2020 funniness of edited headlines, 0-3 (original with <word/>, edit, meanGrade)"
    instruction = "How funny is the edited headline, from 0.00 (not funny) to 3.00 (funny)?"
    answer_label = "Funniness"
    high = 3.0
    label_field = "meanGrade"
    splits = TRAIN_DEV_TEST
    hub_id, hub_config = "SemEvalWorkshop/humicroedit", "subtask-1"

    def from_record(self, record, where):
        original, edit = require_field(record, "original", where), require_field(record, "edit", where)
        if not _EDITED.search(original):
            raise UserError(f"{where}: the original headline has no <word/> marking the edited word; fix the data")
        before = _EDITED.sub(lambda m: m.group(1), original)
        after = _EDITED.sub(lambda m: edit, original)
        text = f"Original headline: {before}\nEdited headline: {after}"
        return Example(text, self.convert_label(record.get(self.label_field), where), {"edit": edit})

