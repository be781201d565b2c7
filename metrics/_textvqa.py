"""`vqa_accuracy`: TextVQA's accuracy, as the dataset's authors compute it (facebookresearch/mmf,
`m4c_evaluators.TextVQAAccuracyEvaluator` with `EvalAIAnswerProcessor`, the VQA challenge's answer
normalisation as EvalAI runs it).

Every answer, the model's and the 10 human ones, is normalised the same way: lower-cased; ',' and '?'
removed; "'s" made " 's"; newlines and tabs made spaces; stripped; punctuation removed or made a space
(removed where the text has a punctuation mark next to a space, or a comma between digits); a period not
before a digit removed; number words (`none`, `zero`..`ten`) made digits; articles (`a`, `an`, `the`)
dropped; contractions spelled the VQA way (`dont` -> `don't`). The score is the mean, over the 10
leave-one-out subsets of the human answers, of min(1, matches in the subset / 3).
"""

from __future__ import annotations

import re

import polars as pl

from metrics._registry import metric
from metrics._table import predictions, references, rows

SCORER = "TextVQA accuracy (mmf TextVQAAccuracyEvaluator, EvalAI answer processing)"
VERSION = "1"

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}  # fmt: skip
NUMBER_MAP = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
ARTICLES = ("a", "an", "the")
# As written in the reference: `(?!<=\d)` is a negative lookahead for the text "<=" + digit (not the
# lookbehind it looks like), so a period after a digit is stripped too unless a digit follows it.
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(?<=\d)(\,)+(?=\d)")
PUNCTUATIONS = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
                ",", "?", "!"]  # fmt: skip
# The reference calls `PERIOD_STRIP.sub("", text, re.UNICODE)`: the flag lands in `count`, so at most
# re.UNICODE (32) periods are removed. Kept, so that long answers score as they do there.
_PERIOD_COUNT = int(re.UNICODE)


def process_punctuation(text: str) -> str:
    out = text
    for p in PUNCTUATIONS:
        if (p + " " in text or " " + p in text) or (re.search(COMMA_STRIP, text) is not None):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return PERIOD_STRIP.sub("", out, _PERIOD_COUNT)


def process_digit_article(text: str) -> str:
    words = [NUMBER_MAP.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(answer: str) -> str:
    """EvalAI's answer processing, step for step."""
    text = answer.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(text))


def vqa_score(prediction: str, answers: list[str]) -> float:
    """Mean over the leave-one-out subsets of ANSWERS of min(1, matches / 3); 0 without answers."""
    if not answers:
        return 0.0
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in answers]
    matches = sum(g == pred for g in gts)
    # Leaving out answer i removes one match exactly when answer i is itself a match.
    return sum(min(1.0, (matches - (g == pred)) / 3) for g in gts) / len(gts)


@metric("vqa_accuracy", higher_is_better=True, tasks=("vqa",), scorer=SCORER, version=VERSION)
def vqa_accuracy(table: pl.DataFrame) -> pl.DataFrame:
    """TextVQA/VQA accuracy: EvalAI answer normalisation, min(matches/3, 1) over 10 leave-one-out subsets."""
    value = [vqa_score(p, refs) for p, refs in zip(predictions(table).to_list(), references(table).to_list())]
    return rows(table, value)
