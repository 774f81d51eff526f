"""PIQA: pick the more sensible of two solutions to a physical goal; accuracy."""
from predgen_core.tasks.base import MultipleChoiceTask, register_task


@register_task
class PIQA(MultipleChoiceTask):
    name = "piqa"
    description = "PIQA physical commonsense, 2 options (goal, sol1, sol2, label)"
    instruction = "Which solution achieves the goal? Answer Solution 1 or Solution 2."
    question_field, question_label = "goal", "Goal"
    option_fields, option_word = ("sol1", "sol2"), "Solution"
    hub_id = "ybisk/piqa"
