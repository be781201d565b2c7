"""OCRBench v2's table, chart and geometry rules (Yuliang-Liu/MultimodalOCR, OCRBench_v2/eval_scripts:
TEDS_metric.py, IoUscore_metric.py, spotting_metric.py with the RRC end-to-end script it runs),
reimplemented to give its figures.

TEDS is PubTabNet's, on `body/table` only; a chart's dictionary becomes a two-column table whose values are
spelt out with a space between characters (`dict_to_html` joins the value's characters). Grounding is the IoU
of the last box in the answer (coordinates 0..1000, a box repeated counts once, at its last place). Spotting
writes both sides as RRC files and runs the ICDAR end-to-end protocol: greedy matching in ground-truth
order at IoU > 0.5, transcriptions equal up to case and one special character at either end of the ground
truth, `###` a don't-care region; the figure is the method-level hmean. Boxes are axis-aligned rectangles,
so their areas are computed here exactly rather than by the Polygon3 package.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any

# ---------------------------------------------------------------- TEDS (TEDS_metric.py)


@lru_cache(maxsize=1)
def _apted():
    from apted import APTED, Config
    from apted.helpers import Tree
    from rapidfuzz.distance import Levenshtein

    class TableTree(Tree):
        def __init__(self, tag, colspan=None, rowspan=None, content=None):
            self.tag, self.colspan, self.rowspan, self.content = tag, colspan, rowspan, content
            self.children = []

    class TableConfig(Config):
        def rename(self, a, b):
            if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
                return 1.0
            if a.tag == "td" and (a.content or b.content):
                return Levenshtein.distance(a.content, b.content) / max(len(a.content), len(b.content))
            return 0.0

    return APTED, TableTree, TableConfig


def _tokens(node) -> list[str]:
    out = [f"<{node.tag}>"]
    if node.text is not None:
        out += list(node.text)
    for child in node.getchildren():
        out += _tokens(child)
    if node.tag != "unk":
        out.append(f"</{node.tag}>")
    if node.tag != "td" and node.tail is not None:
        out += list(node.tail)
    return out


def _tree(node, TableTree):
    if node.tag == "td":
        return TableTree(
            "td",
            int(node.attrib.get("colspan", "1")),
            int(node.attrib.get("rowspan", "1")),
            _tokens(node)[1:-1],
        )
    tree = TableTree(node.tag)
    tree.children = [_tree(child, TableTree) for child in node.getchildren()]
    return tree


def teds(pred: str, true: str) -> float:
    """TEDS.evaluate: 0 for an empty side or one without `body/table`; raises where it raises."""
    if not pred or not true:
        return 0.0
    from lxml import html

    parser = html.HTMLParser(remove_comments=True, encoding="utf-8")
    p, t = html.fromstring(pred, parser=parser), html.fromstring(true, parser=parser)
    if not (p.xpath("body/table") and t.xpath("body/table")):
        return 0.0
    p, t = p.xpath("body/table")[0], t.xpath("body/table")[0]
    n_nodes = max(len(p.xpath(".//*")), len(t.xpath(".//*")))
    APTED, TableTree, TableConfig = _apted()
    distance = APTED(_tree(p, TableTree), _tree(t, TableTree), TableConfig()).compute_edit_distance()
    return 1.0 - float(distance) / n_nodes


def markdown_table(text: str) -> str:
    """convert_markdown_table_to_html: the first row and the rows after the separator, as td cells."""
    # a strip of the characters of "```markdown" (not of the word), as the official code does
    text = text.strip("```markdown").strip("```").strip()  # noqa: B005
    lines = text.split("\n")
    rows = []
    for line in [lines[0], *lines[2:]]:
        cells = line.strip().split("|")[1:-1]
        rows.append([cell.strip() if set(cell) != set(" ") else " " for cell in cells])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<html><body><table>{body}</table></body></html>"


def wrap_table(text: str) -> str:
    """wrap_html_table: the missing <table>, <body> and <html> tags added."""
    text = text.replace("\n", "")
    if "<table" in text and "</table>" not in text:
        text = text + "</table>"
    elif "<table" not in text and "</table>" in text:
        text = "<table>" + text
    elif "<table" not in text and "</table>" not in text:
        text = "<table>" + text + "</table>"
    if "<body>" not in text:
        text = "<body>" + text + "</body>"
    if "<html>" not in text:
        text = "<html>" + text + "</html>"
    return text


def html_table_score(predict: str, answer: str) -> float:
    """The HTML branch of table parsing: the answer from its first <body, else <table; 0 if neither,
    and 0 where TEDS raises."""
    table = predict.replace("\n", "")
    if "<body" in table:
        table = re.findall("<body.*", table)[0]
    elif "<table" in table:
        table = re.findall("<table.*", table)[0]
    else:
        return 0.0
    try:
        return teds(wrap_table(table), wrap_table(answer))
    except Exception:
        return 0.0


def dict_table(data: dict) -> str:
    """dict_to_html: one row per key, the value's characters joined by spaces."""
    rows = "".join(
        f"  <tr><td>{k}</td><td>{' '.join(v if isinstance(v, str) else str(v))}</td></tr>\n"
        for k, v in data.items()
    )
    return f"<html><body><table>\n{rows}</table></body></html>"


def str_to_multi_dict(text: str) -> dict:
    """convert_str_to_multi_dict: the longest fenced block (else the text), without `name =` and
    comments, cut after its last `}`, read as a Python literal; {} unless that is a dictionary."""
    blocks = re.findall(r"```(?:python|json)?\n(.*?)\n```", text, re.DOTALL | re.IGNORECASE)
    content = max(blocks, key=len) if blocks else text.strip()
    content = re.sub(r"^\s*\w+\s*=\s*", "", content.strip(), count=1)
    content = re.sub(r"#.*", "", content)
    last = content.rfind("}")
    if last != -1:
        content = content[: last + 1]
    try:
        data = ast.literal_eval(content)
    except (ValueError, SyntaxError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- grounding (IoUscore_metric.py)


def iou(box1: Any, box2: Any) -> float:
    """calculate_iou of two [x1, y1, x2, y2] boxes (0 when a coordinate is not an integer)."""
    try:
        a = [int(c) for c in box1]
        b = [int(c) for c in box2]
    except Exception:
        return 0.0
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union != 0 else 0


def last_box(text: str) -> list[int] | None:
    """extract_coordinates: the last (x1, y1, x2, y2) or [..] with coordinates in 0..1000."""
    found: list[tuple[int, ...]] = []
    for m in re.finditer(r"[\(\[]\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*[\)\]]", text):
        box = tuple(map(int, m.groups()))
        if all(0 <= n <= 1000 for n in box):
            found = [b for b in found if b != box] + [box]
    return list(found[-1]) if found else None


def position_vqa(pred: dict, answers: list, bbox: Any, vqa) -> float:
    """vqa_with_position_evaluation: half the answer's VQA score, half the IoU of its `bbox`."""
    content = vqa(pred["answer"], answers) if "answer" in pred else 0.0
    box = 0.0
    if "bbox" in pred:
        try:
            box = iou(ast.literal_eval(pred["bbox"]), bbox)
        except Exception:
            box = 0.0
    return 0.5 * content + 0.5 * box


# ---------------------------------------------------------------- spotting (spotting_metric.py + RRC E2E)


def _box_item(parts: list[Any], text: Any) -> list | None:
    try:
        x1, y1, x2, y2 = (int(str(p).strip()) for p in parts)
    except ValueError:
        return None
    if not all(0 <= n <= 1000 for n in (x1, y1, x2, y2)):
        return None
    return [x1, y1, x2, y2, text]


def spotted_boxes(text: str) -> list[list] | None:
    """extract_bounding_boxes_robust: [x1, y1, x2, y2, text] items, from a Python literal or else by
    pattern; duplicates dropped; None when there is none."""
    out: list[list] = []
    seen = set()
    try:
        data = ast.literal_eval(text)
    except Exception:
        data = None
    if data is not None:
        if isinstance(data, (list, tuple)):
            for item in data:
                if isinstance(item, (list, tuple)) and len(item) >= 5:
                    label = str(item[4]).replace("\n", "").strip().strip('"').strip("'")
                    box = _box_item(list(item[:4]), label)
                    if box is not None and tuple(box) not in seen:
                        seen.add(tuple(box))
                        out.append(box)
    else:
        items = re.findall(r"[\[\(]\s*([^\[\]\(\)]*?)\s*[\]\)]", text)
        if not items:
            return None
        for item in items:
            parts = item.split(",", 4)
            if len(parts) < 5:
                continue
            label = parts[4].replace("\n", "").strip().strip('"').strip("'")
            box = _box_item(parts[:4], label)
            if box is not None and tuple(box) not in seen:
                seen.add(tuple(box))
                out.append(box)
    return out or None


_SPECIAL = "!?.:,*\"()·[]/'"


def _rrc_text(rec: str) -> str:
    """The transcription as the RRC line parser reads it back (a quoted one unquoted and unescaped)."""
    quoted = re.match(r"^\s*\"(.*)\"\s*$", rec)
    return quoted.group(1).replace("\\\\", "\\").replace('\\"', '"') if quoted else rec


def _same_text(gt: str, det: str) -> bool:
    """transcription_match (ONLY_REMOVE_FIRST_LAST_CHARACTER): one special character at either end of the
    ground truth may be missing from the detection."""
    if gt == det:
        return True
    first, last = _SPECIAL.find(gt[0]) > -1, _SPECIAL.find(gt[-1]) > -1
    return (first and gt[1:] == det) or (last and gt[:-1] == det) or (first and last and gt[1:-1] == det)


def _area(b) -> float:
    return float((b[2] - b[0]) * (b[3] - b[1]))


def _overlap(a, b) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    return float(w * h) if w > 0 and h > 0 else 0.0


def spotting(boxes: list[list], gt_boxes: list, gt_texts: list[str]) -> float:
    """spotting_evaluation: the RRC end-to-end hmean of the answer's boxes against the ground truth's
    (each ground-truth polygon taken as its bounding rectangle)."""
    dets = [(b[:4], _rrc_text(b[4])) for b in boxes if b[0] < b[2] and b[1] < b[3]]
    gts = []
    for box, text in zip(gt_boxes, gt_texts):
        xs, ys = box[0::2], box[1::2]
        gts.append(([min(xs), min(ys), max(xs), max(ys)], _rrc_text(text)))
    if not dets or not gts:
        return 0.0
    gt_dont = {i for i, (_, text) in enumerate(gts) if text == "###"}
    det_dont = set()
    for j, (d, _) in enumerate(dets):
        for i in sorted(gt_dont):
            area = _area(d)
            if (0 if area == 0 else _overlap(gts[i][0], d) / area) > 0.5:
                det_dont.add(j)
                break
    gt_used, det_used, correct = set(), set(), 0
    for i, (g, gt_text) in enumerate(gts):
        for j, (d, det_text) in enumerate(dets):
            if i in gt_used or j in det_used or i in gt_dont or j in det_dont:
                continue
            inter = _overlap(d, g)
            union = _area(d) + _area(g) - inter
            if (inter / union if union else 0.0) > 0.5:
                gt_used.add(i)
                det_used.add(j)
                correct += _same_text(gt_text.upper(), det_text.upper())
    care_gt, care_det = len(gts) - len(gt_dont), len(dets) - len(det_dont)
    recall = 0 if care_gt == 0 else correct / care_gt
    precision = 0 if care_det == 0 else correct / care_det
    return 0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)
