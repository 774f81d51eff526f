"""SICK relatedness: how related two sentences are, a score in [1, 5]; MSE and MAE.

Shown as the pattern for the paper's further datasets: one class, a few attributes.
"""
from predgen_core.tasks.base import register_task
from predgen_core.tasks.stsb import SentencePairScore


@register_task
class SICK(SentencePairScore):
    name = "sick"
    description = "SICK sentence-pair relatedness, 1-5 (sentence_A, sentence_B, relatedness_score)"
    relation, top = "related", "same meaning"
    answer_label = "Relatedness"
    low, high = 1.0, 5.0
    text_fields = {"sentence_A": "Sentence 1", "sentence_B": "Sentence 2"}
    label_field = "relatedness_score"
    splits = {"train": ("train",), "validation": ("validation", "dev", "trial"), "test": ("test",)}
    hub_id = "RobZamp/sick"
