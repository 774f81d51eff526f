"""LCP (SemEval-2021 Task 1, CompLex): how complex a word is in its sentence, a score in [0, 1]; MSE and MAE.

Native files (single-word subtask): ``lcp_single_train.tsv``, ``lcp_single_trial.tsv``
(the validation split), ``lcp_single_test.tsv``; tab-separated with a header
``id, corpus, sentence, token, complexity`` and no quoting (sentences keep their quotes).
"""
from predgen_core.data import read_tsv_header
from predgen_core.tasks.base import RegressionTask, per_split, register_task


@register_task
class LCP(RegressionTask):
    name = "lcp"
    description = "SemEval-2021 lexical complexity of a word in context, 0-1 (sentence, token, complexity)"
    instruction = "How complex is the word in this sentence, from 0.00 (very easy) to 1.00 (very difficult)?"
    splits = {"train": ("train",), "validation": ("validation", "trial", "dev"), "test": ("test",)}
    native_files = per_split(read_tsv_header, train="lcp_single_train.tsv", validation="lcp_single_trial.tsv",
                             test="lcp_single_test.tsv")
    answer_label = "Complexity"
    text_fields = {"sentence": "Sentence", "token": "Word"}
    label_field = "complexity"
