"""The paper's further datasets read from local files in each dataset's published format (rows written here)."""
from __future__ import annotations

import json

import pytest

from predgen_common.errors import UserError
from predgen_core.tasks import get_task


def _write(root, task, name, text):
    folder = root / task
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_wassa_reads_every_emotion_file_of_a_split(tmp_path):
    _write(tmp_path, "wassa", "anger-ratings-0to1.train.txt",
           "10001\tStuck in traffic for two hours again #fuming\tanger\t0.812\n"
           "10002\tmildly annoyed the cafe ran out of oat milk\tanger\t0.271\n")
    _write(tmp_path, "wassa", "joy-ratings-0to1.train.txt", "30001\tbest birthday ever!! #blessed\tjoy\t0.903\n")
    _write(tmp_path, "wassa", "joy-ratings-0to1.dev.gold.txt", "30901\tsunny morning walk\tjoy\t0.48\n")
    task = get_task("wassa")
    train = task.load("train", data_dir=tmp_path)
    assert [e.label for e in train] == [0.812, 0.271, 0.903]
    assert train[2].text == "Tweet: best birthday ever!! #blessed\nEmotion: joy"
    assert task.load("validation", data_dir=tmp_path)[0].label == 0.48
    assert task.completion(0.812) == " 0.81" and task.parse(" 0.7") == 0.7


def test_lcp_keeps_quotes_and_reads_trial_as_validation(tmp_path):
    header = "id\tcorpus\tsentence\ttoken\tcomplexity\n"
    _write(tmp_path, "lcp", "lcp_single_train.tsv", header +
           "3AAA\tbible\t\"Bring the lamb to the altar.\ttable\t0.0\n"
           "3AAB\tbiomed\tThe kinase phosphorylates the substrate.\tkinase\t0.61764705882352944\n")
    _write(tmp_path, "lcp", "lcp_single_trial.tsv", header + "3AAC\teuroparl\tThe vote is closed.\tvote\t0.125\n")
    task = get_task("lcp")
    train = task.load("train", data_dir=tmp_path)
    assert train[0].text == "Sentence: \"Bring the lamb to the altar.\nWord: table"
    assert train[1].label == pytest.approx(0.6176470588) and task.load("validation", data_dir=tmp_path)[0].label == 0.125


def test_clear_splits_the_labelled_corpus_once(tmp_path):
    rows = ["id,url_legal,license,excerpt,target,standard_error"]
    rows += [f'c{i},,,"Passage number {i}, with a comma.",{-3.5 + i * 0.1:.3f},0.48' for i in range(20)]
    _write(tmp_path, "clear", "train.csv", "\n".join(rows) + "\n")
    task = get_task("clear")
    train, val = task.load("train", data_dir=tmp_path), task.load("validation", data_dir=tmp_path)
    assert len(train) == 16 and len(val) == 4
    assert not {e.text for e in train} & {e.text for e in val}
    assert val[0].text.startswith("Passage: Passage number ") and -4.0 <= val[0].label <= 2.0
    # a CSV export of the CLEAR corpus itself
    _write(tmp_path / "b", "clear", "CLEAR_corpus_final.csv",
           'ID,Author,Excerpt,BT Easiness,BT s.e.\n1,Anon,"A short, easy text.",1.12,0.5\n'
           + "".join(f'{i},Anon,"Text {i}.",{-1 + i / 10},0.5\n' for i in range(2, 11)))
    assert len(task.load("train", data_dir=tmp_path / "b")) == 8


def test_humicroedit_shows_both_headlines(tmp_path):
    _write(tmp_path, "humicroedit", "train.csv",
           "id,original,edit,grades,meanGrade\n"
           '1723,"Senate passes <budget/> after all-night session",pizza,32210,1.6\n'
           "1724,Mayor opens new <bridge/> downtown,sandwich,10000,0.2\n")
    _write(tmp_path, "humicroedit", "dev.csv", "id,original,edit,grades,meanGrade\n9,Storm hits <coast/>,cat,3,3.0\n")
    task = get_task("humicroedit")
    train = task.load("train", data_dir=tmp_path)
    assert train[0].text == ("Original headline: Senate passes budget after all-night session\n"
                             "Edited headline: Senate passes pizza after all-night session")
    assert [e.label for e in train] == [1.6, 0.2] and task.load("validation", data_dir=tmp_path)[0].label == 3.0
    _write(tmp_path, "humicroedit", "train.csv", "id,original,edit,grades,meanGrade\n1,No marker here,x,0,0.0\n")
    with pytest.raises(UserError, match="no <word/>"):
        task.load("train", data_dir=tmp_path)


def test_obqa_reads_the_nested_jsonl_and_the_flat_hub_rows(tmp_path):
    row = {"id": "7-1", "question": {"stem": "Plants make food using", "choices": [
        {"text": "moonlight", "label": "A"}, {"text": "sunlight", "label": "B"},
        {"text": "sand", "label": "C"}, {"text": "noise", "label": "D"}]}, "answerKey": "B"}
    flat = {"id": "7-2", "question_stem": "Ice is", "choices": {"text": ["hot", "frozen water", "gas", "wood"],
                                                                 "label": ["A", "B", "C", "D"]}, "answerKey": "B"}
    _write(tmp_path, "obqa", "train.jsonl", _jsonl([row, flat]))
    train = get_task("obqa").load("train", data_dir=tmp_path)
    assert train[0].text == "Question: Plants make food using\nA: moonlight\nB: sunlight\nC: sand\nD: noise"
    assert [e.label for e in train] == [1, 1] and train[1].text.startswith("Question: Ice is\nA: hot")


def test_winogrande_answers_count_from_one(tmp_path):
    rows = [{"qID": "q1-1", "sentence": "Ann lent Beth a pen because _ had two.", "option1": "Ann",
             "option2": "Beth", "answer": "1"},
            {"qID": "q1-2", "sentence": "Ann lent Beth a pen because _ had none.", "option1": "Ann",
             "option2": "Beth", "answer": "2"}]
    _write(tmp_path, "winogrande", "train_xl.jsonl", _jsonl(rows))
    _write(tmp_path, "winogrande", "dev.jsonl", _jsonl(rows[:1]))
    task = get_task("winogrande")
    train = task.load("train", data_dir=tmp_path)
    assert [e.label for e in train] == [0, 1]
    assert train[0].text == "Sentence: Ann lent Beth a pen because _ had two.\nOption 1: Ann\nOption 2: Beth"
    assert task.completion(1) == " Option 2" and task.load("validation", data_dir=tmp_path)[0].label == 0


def test_hellaswag_reads_four_endings(tmp_path):
    row = {"ind": 4, "activity_label": "Baking cookies", "ctx_a": "A woman mixes dough.", "ctx_b": "she",
           "ctx": "A woman mixes dough. she", "split": "val", "split_type": "indomain", "label": 2,
           "endings": ["flies away.", "swims home.", "shapes it into balls.", "reads a map."],
           "source_id": "activitynet~v_x"}
    _write(tmp_path, "hellaswag", "hellaswag_val.jsonl", _jsonl([row, {**row, "label": "0"}]))
    val = get_task("hellaswag").load("validation", data_dir=tmp_path)
    assert [e.label for e in val] == [2, 0]
    assert val[0].text.splitlines()[:3] == ["Topic: Baking cookies", "Context: A woman mixes dough. she",
                                            "Ending 1: flies away."]
    _write(tmp_path, "hellaswag", "hellaswag_val.jsonl", _jsonl([{**row, "endings": ["only one"]}]))
    with pytest.raises(UserError, match="1 endings"):
        get_task("hellaswag").load("validation", data_dir=tmp_path)


def test_siqa_pairs_rows_with_the_labels_file(tmp_path):
    rows = [{"context": "Kai stayed late to help Sam move.", "question": "How would Sam feel?",
             "answerA": "grateful", "answerB": "angry", "answerC": "bored"},
            {"context": "Jo forgot the keys.", "question": "What will Jo do next?",
             "answerA": "sing", "answerB": "go back home", "answerC": "sleep"}]
    _write(tmp_path, "siqa", "dev.jsonl", _jsonl(rows))
    _write(tmp_path, "siqa", "dev-labels.lst", "1\n2\n")
    task = get_task("siqa")
    val = task.load("validation", data_dir=tmp_path)
    assert [e.label for e in val] == [0, 1]
    assert val[0].text == ("Situation: Kai stayed late to help Sam move.\nQuestion: How would Sam feel?\n"
                           "A: grateful\nB: angry\nC: bored")
    _write(tmp_path, "siqa", "dev-labels.lst", "1\n")
    with pytest.raises(UserError, match="1 labels for 2 rows"):
        task.load("validation", data_dir=tmp_path)
