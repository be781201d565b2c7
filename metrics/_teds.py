"""TEDS and TEDS-S: tree-edit-distance similarity of two tables, on the IBM PubTabNet definition.

    teds(pred_html, true_html)                        -> 1 - APTED distance / max(node count)
    teds(pred_html, true_html, structure_only=True)   -> TEDS-S (cell content ignored)

As PubTabNet's src/metric.py (Zhong et al. 2020) computes it: each table is an lxml tree of its elements;
a `td` node carries its colspan, rowspan and content tokens (the characters of its text and the tags of
its children); renaming costs 1 when tag, colspan or rowspan differ, else the normalised Levenshtein
distance of two `td`s' tokens; the distance (apted) is divided by the larger count of elements below
the `table`. An empty side, or a side without a table, scores 0.

Before that, `normalize_table` puts both sides in one form, as OmniDocBench does before its TEDS: `th`
becomes `td`, `thead`/`tbody`/`tfoot` are unwrapped (a Markdown table's header row is a `th` in a
`thead`, a PubTabNet one a `td`), attributes other than colspan and rowspan are dropped, and
whitespace in a cell is collapsed. Two tables equal up to that normalisation score 1.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WS = re.compile(r"\s+")
_UNWRAP = ("thead", "tbody", "tfoot")
_KEEP_ATTRS = ("colspan", "rowspan")


@lru_cache(maxsize=1)
def _apted():
    """The apted classes, built once (apted is imported only when a table is scored)."""
    from apted import APTED, Config
    from apted.helpers import Tree
    from rapidfuzz.distance import Levenshtein

    class TableTree(Tree):
        def __init__(self, tag, colspan=None, rowspan=None, content=None, *children):
            self.tag, self.colspan, self.rowspan, self.content = tag, colspan, rowspan, content
            self.children = list(children)

    class TableConfig(Config):
        def rename(self, node1, node2):
            if node1.tag != node2.tag or node1.colspan != node2.colspan or node1.rowspan != node2.rowspan:
                return 1.0
            if node1.tag == "td" and (node1.content or node2.content):
                longest = max(len(node1.content), len(node2.content))
                return Levenshtein.distance(node1.content, node2.content) / longest
            return 0.0

    return APTED, TableTree, TableConfig


def _span(node, name: str, strict: bool = False) -> int:
    try:
        return int(node.attrib.get(name, "1"))
    except ValueError:  # colspan="2;" and the like: PubTabNet's int() would raise; count it as 1
        if strict:
            raise
        return 1


def _cell_tokens(node) -> list[str]:
    """PubTabNet's tokenize(): `<tag>`, the text's characters, the children, `</tag>`, the tail."""
    tokens = [f"<{node.tag}>"]
    if node.text is not None:
        tokens += list(node.text)
    for child in node:
        tokens += _cell_tokens(child)
    if node.tag != "unk":
        tokens.append(f"</{node.tag}>")
    if node.tag != "td" and node.tail is not None:
        tokens += list(node.tail)
    return tokens


def _tree(node, structure_only: bool, TableTree, strict: bool = False):
    """STRICT: a span that is not a number raises ValueError, as PubTabNet's int() does."""
    if node.tag == "td":
        content = [] if structure_only else _cell_tokens(node)[1:-1]
        return TableTree("td", _span(node, "colspan", strict), _span(node, "rowspan", strict), content)
    tree = TableTree(node.tag, None, None, None)
    tree.children = [_tree(child, structure_only, TableTree, strict) for child in node]
    return tree


def _table(text: str):
    from lxml import html

    if not text or not text.strip():
        return None
    try:
        root = html.fromstring(text, parser=html.HTMLParser(remove_comments=True, encoding="utf-8"))
    except Exception:  # lxml raises ParserError on text that holds no element at all
        return None
    found = root.xpath("body/table") or root.xpath("//table")
    return found[0] if found else None


def teds(pred: str, true: str, *, structure_only: bool = False) -> float:
    """TEDS (or TEDS-S) of two HTML tables, each a string holding a `<table>` (normalised here)."""
    return teds_of(normalize_table(pred), normalize_table(true), structure_only=structure_only)


def teds_of(pred: str, true: str, *, structure_only: bool = False) -> float:
    """TEDS of two HTML strings exactly as given (PubTabNet's TEDS.evaluate, without normalisation)."""
    APTED, TableTree, TableConfig = _apted()
    p, t = _table(pred), _table(true)
    if p is None or t is None:
        return 0.0
    n_nodes = max(len(p.xpath(".//*")), len(t.xpath(".//*")))
    if n_nodes == 0:
        return 1.0 if p.tag == t.tag else 0.0
    distance = APTED(_tree(p, structure_only, TableTree), _tree(t, structure_only, TableTree), TableConfig())
    return 1.0 - distance.compute_edit_distance() / n_nodes


def normalize_table(text: str) -> str:
    """One `<html><body><table>` string in the common form (see the module docstring); '' without a table."""
    from lxml import etree, html

    table = _table(text)
    if table is None:
        return ""
    for node in table.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == "th":
            node.tag = "td"
        for name in list(node.attrib):
            if name not in _KEEP_ATTRS:
                del node.attrib[name]
        if node.text:
            node.text = _WS.sub(" ", node.text).strip() or None
        if node.tail:
            node.tail = _WS.sub(" ", node.tail).strip() or None
    etree.strip_tags(table, *_UNWRAP)
    etree.strip_elements(table, etree.Comment, with_tail=False)
    body = html.tostring(table, encoding="unicode")
    return f"<html><body>{body}</body></html>"
