"""BoolQ: a yes/no question about a passage; accuracy."""
from predgen_core.tasks.base import ClassificationTask, register_task


@register_task
class BoolQ(ClassificationTask):
    name = "boolq"
    description = "BoolQ yes/no questions over a passage (question, passage, answer)"
    instruction = "Read the passage and answer the question with yes or no."
    labels = ("no", "yes")
    label_aliases = {"false": 0, "true": 1}
    text_fields = {"passage": "Passage", "question": "Question"}
    label_field = "answer"
    hub_id = "google/boolq"
