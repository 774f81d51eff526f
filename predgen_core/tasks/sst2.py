"""SST-2 (GLUE): binary sentiment of movie-review sentences; accuracy."""
from predgen_core.data import read_tsv_header
from predgen_core.tasks.base import ClassificationTask, register_task


class MovieReviewSentiment(ClassificationTask):
    """The prompt and verbaliser shared by the movie-review sentiment tasks (SST-2, polarity)."""

    instruction = "Is the sentiment of this movie review positive or negative?"
    answer_label = "Sentiment"
    labels = ("negative", "positive")
    text_fields = {"sentence": "Review"}


@register_task
class SST2(MovieReviewSentiment):
    name = "sst2"
    description = "GLUE SST-2 binary sentiment (train 67,349 / validation 872)"
    native_files = {"train": {"train.tsv": read_tsv_header}, "validation": {"validation.tsv": read_tsv_header, "dev.tsv": read_tsv_header}}
    hub_id = "stanfordnlp/sst2"
