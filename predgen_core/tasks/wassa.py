"""WASSA-2017 emotion intensity (EmoInt): how intense the tweet's emotion is, a score in [0, 1]; MSE and MAE.

Native files: one per emotion and split, tab-separated without a header
(``id, tweet, emotion, score``): ``<emotion>-ratings-0to1.train.txt``,
``<emotion>-ratings-0to1.dev.gold.txt``, ``<emotion>-ratings-0to1.test.gold.txt``;
all four emotions of a split are read together.
"""
from predgen_core.data import read_tsv_columns
from predgen_core.tasks.base import TRAIN_DEV_TEST, RegressionTask, per_split, register_task

_read = read_tsv_columns(("id", "tweet", "emotion", "score"))


@register_task
class WASSA(RegressionTask):
    name = "wassa"
    description = "WASSA-2017 emotion intensity of tweets, 0-1 (tweet, emotion, score; anger/fear/joy/sadness)"
    instruction = "How intense is the named emotion in the tweet, from 0.00 (not at all) to 1.00 (extremely)?"
    splits = TRAIN_DEV_TEST
    native_files = per_split(_read, train="*-ratings-0to1.train.txt", validation="*-ratings-0to1.dev.gold.txt",
                             test="*-ratings-0to1.test.gold.txt")
    answer_label = "Intensity"
    text_fields = {"tweet": "Tweet", "emotion": "Emotion"}
    label_field = "score"
