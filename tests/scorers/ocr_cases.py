# ruff: noqa: E501  (a table of cases: one case a line reads best)
"""Answers to OCRBench v2 and CC-OCR questions that hit each rule of their official scorers, and the quirks
(synthetic questions, not the benchmarks' data). Shared by the unit, parity and end-to-end tests."""

from __future__ import annotations

import json

TABLE = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"
MD = "| week | team |\n| --- | --- |\n| 1 | lions |\n| 2 | bears |"

# (tag, question as the hub row gives it, scripted answer)
OCRBENCH_V2: list[tuple[str, dict, str]] = [
    ("v2-tr1", {"type": "text recognition en", "question": "What is written?", "answers": ["Hello"]}, "It says hello."),
    ("v2-tr2", {"type": "text recognition en", "question": "Read it", "answers": ["the quick brown fox jumps"]},
     "the quick brown fax jumps"),  # 5 words: ANLS 0.96
    ("v2-tr3", {"type": "text recognition en", "question": "Read", "answers": ["the quick brown fox jumps"]},
     "a slow red dog"),  # ANLS under 0.5: 0
    ("v2-mc1", {"type": "science QA en", "question": "Pick", "answers": ["B"], "eval": "multiple choice"}, "(B)"),
    ("v2-mc2", {"type": "science QA en", "question": "Pick", "answers": ["B"], "eval": "multiple choice"}, "B."
     " Because"),  # letters only: "BBecause"
    ("v2-cs1", {"type": "APP agent en", "question": "Which", "answers": ["OK"], "eval": "case sensitive"}, "ok"),
    ("v2-cnt1", {"type": "text counting en", "question": "How many?", "answers": ["10"], "eval": "regression"},
     "There are 8 words"),  # 1 - 2/10
    ("v2-cnt2", {"type": "text counting en", "question": "How many?", "answers": ["7"], "eval": "exact match"},
     "SEVEN 7"),
    ("v2-cnt3", {"type": "text counting en", "question": "How many?", "answers": ["3"], "eval": "regression"},
     "0 or 3"),  # a first number of 0 is no number
    ("v2-kie1", {"type": "key information extraction en", "question": "Extract",
                 "answers": [{"company": ["OLD TOWN"], "total": ["30"]}]},
     '```json\n{"company": "old town", "total": "31", "Date": "x"}\n```'),  # 1 of 3 keys
    ("v2-kie2", {"type": "key information mapping en", "question": "Map",
                 "answers": [{"name": ["Ann", "ANNA"], "age": ["5"]}]}, "name: anna, age: 5"),
    ("v2-kiecn", {"type": "key information extraction cn", "question": "提取",
                  "answers": ["{'姓名': '张三', '年龄': ['5', '五']}"]}, '{"姓名": "张 三", "年龄": "五"}'),
    ("v2-tabh", {"type": "table parsing en", "question": "Give the table in HTML",
                 "answers": [TABLE]}, "<html><body><table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>3</td></tr>"),
    ("v2-tabm", {"type": "table parsing en", "question": "As markdown please", "answers": [MD]},
     "| week | team |\n|---|---|\n| 1 | lions |\n| 2 | tigers |"),
    ("v2-tabcn", {"type": "table parsing cn", "question": "表格", "answers": [TABLE]}, "no table here"),
    ("v2-chart", {"type": "chart parsing en", "question": "Chart as dict",
                  "answers": [{"title": "Sales", "2019": "12", "2020": "15"}]},
     "```python\nchart = {'title': 'Sales', '2019': '12', '2020': '16'}  # values\n```"),
    ("v2-doc", {"type": "document parsing en", "question": "Parse", "answers": ["# Title\nline one\n## Part\nline two"]},
     "# Title\nline one\n\n## Part"),
    ("v2-doccn", {"type": "document parsing cn", "question": "解析", "answers": ["# 标题\n第一行"]}, "第一行"),
    ("v2-f", {"type": "formula recognition en", "question": "LaTeX", "answers": ["x^{2} + 1"]}, "$x^{2}+1$"),
    ("v2-fcn", {"type": "formula recognition cn", "question": "公式", "answers": ["\\text{a} + b"]}, "a+b"),
    ("v2-ground", {"type": "text grounding en", "question": "Where is 'x'?", "answers": [100, 100, 200, 200]},
     "[0, 0, 10, 10] then (150, 100, 250, 200)"),
    ("v2-pos", {"type": "VQA with position en", "question": "Answer with bbox", "answers": ["Main Street"],
                "bbox": [10, 10, 110, 60]}, '{"answer": "It is Main Street", "bbox": "[10, 10, 110, 110]"}'),
    ("v2-spot", {"type": "text spotting en", "question": "Spot all text",
                 "answers": ["HELLO", "WORLD."], "content": ["HELLO", "WORLD.", "###"],
                 "bbox": [[10, 10, 100, 10, 100, 50, 10, 50], [200, 10, 300, 10, 300, 50, 200, 50],
                          [400, 400, 450, 400, 450, 450, 400, 450]]},
     "[[12, 10, 100, 52, 'hello'], [200, 12, 298, 50, 'world'], [400, 400, 448, 450, 'junk'], [500, 500, 600, 600, 'x']]"),
    ("v2-full", {"type": "full-page OCR en", "question": "Read the page",
                 "answers": ["The cats were sitting on the mats near the door"]},
     "The cat was sitting on a mat near the doors"),
    ("v2-fine", {"type": "fine-grained text recognition en", "question": "Read the region",
                 "answers": ["quick brown fox"]}, "quick brown"),
    ("v2-fullcn", {"type": "full-page OCR cn", "question": "识别", "answers": ["我们今天去北京天安门"]}, "我们明天去北京"),
    ("v2-hw1", {"type": "handwritten answer extraction cn", "question": "选择题答案", "answers": ["AB"]}, "答案是 A、B"),
    ("v2-hw2", {"type": "handwritten answer extraction cn", "question": "简答题", "answers": ["水是生命之源"]},
     "水是生命的源泉"),
    ("v2-tr-cn", {"type": "text translation cn", "question": "翻译", "answers": ["Hello world, good morning"]},
     "Hello world, good evening"),
    ("v2-ignore", {"type": "text translation cn", "question": "翻译", "answers": [""]}, "anything"),
    ("v2-cnvqa", {"type": "cognition VQA cn", "question": "问题", "answers": ["北 京"]}, "在北京市"),
    ("v2-cnmc", {"type": "reasoning VQA cn", "question": "选择", "answers": ["C"], "eval": "multiple choice"}, "C"),
]  # fmt: skip

# (tag, row in the hub layout, scripted answer)
CC_OCR: list[tuple[str, dict, str]] = [
    ("cc-ms1", {"config": "multi_scene_ocr", "split": "IC15", "answer": "STOP Main-St. 42"}, "stop main st 42 extra"),
    ("cc-ms2", {"config": "multi_scene_ocr", "split": "IC15", "answer": "Exit"}, ""),
    ("cc-ms3", {"config": "multi_scene_ocr", "split": "zh_scene", "answer": "北京 欢迎你"}, "北京欢迎"),
    ("cc-ml1", {"config": "multi_lan_ocr", "split": "French", "answer": "Bonjour le monde"}, "bonjour Le monde !"),
    ("cc-ml2", {"config": "multi_lan_ocr", "split": "Japanese", "answer": "こんにちは"}, "こんにちわ"),
    ("cc-ml3", {"config": "multi_lan_ocr", "split": "Korean", "answer": "안녕"}, "안녕 하세요"),
    ("cc-dp1", {"config": "doc_parsing", "split": "doc_scan_eng", "l2-category": "doc",
                "answer": "\\section{Intro} Hello world"},
     "```latex\n\\documentclass{article}\\begin{document}\\section{Intro} Hello word\\end{document}\n```"),
    ("cc-dp2", {"config": "doc_parsing", "split": "table_scan_eng", "l2-category": "table",
                "answer": '<table border="1"><tr><td>名称</td><td>1</td></tr></table>'},
     '```html\n<table>\n <tr><td>名称</td><td>１</td></tr>\n</table>\n```'),
    ("cc-dp3", {"config": "doc_parsing", "split": "formula_handwriting", "l2-category": "formula",
                "answer": "\\frac{a}{b}"}, "```latex\n\\frac {a}{c}\n```"),
    ("cc-dp4", {"config": "doc_parsing", "split": "molecular_handwriting", "l2-category": "molecular",
                "answer": "CCO"}, "<smiles>C C O</smiles>"),
    ("cc-kie1", {"config": "kie", "split": "POIE", "l2-category": "constrained_category",
                 "answer": json.dumps({"name": "Cola", "price": "3.5", "kcal": ""})},
     '```json\n{"name": "cola", "price": "3.5", "kcal": "", "extra": "x"}\n```'),
    ("cc-kie2", {"config": "kie", "split": "POIE", "l2-category": "constrained_category",
                 "answer": json.dumps({"name": "Tea", "items": [{"a": "1"}, {"a": "2"}]})}, "not json at all"),
    ("cc-kie3", {"config": "kie", "split": "COLD_SIBR", "l2-category": "open_category",
                 "answer": json.dumps({"公司": "阿里 巴巴", "tel": "123"})},
     '```json\n{"公司": "阿里巴巴", "tel": ["123", " "]}'),  # an unclosed fence: every field missed
    ("cc-kie4", {"config": "kie", "split": "COLD_SIBR", "l2-category": "open_category",
                 "answer": json.dumps({"date": "2024 / 1 / 2", "to": "ＡＢ"})}, '{"date": "2024/1/2", "to": "AB"}'),
]  # fmt: skip

ANSWERS = {tag: reply for tag, _, reply in OCRBENCH_V2 + CC_OCR}
