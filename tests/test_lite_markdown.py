"""tools/lite_markdown.py: the chapters' MyST as plain Jupyter markdown for the lite copies."""

from __future__ import annotations

import doctest
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lite_markdown as lm  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))
MYST_LEFT = re.compile(r"\{[\w:-]+\}`|^(`{3,}|:{3,})\{|^\([\w:-]+\)=\s*$", re.M)


def _md(nb: dict) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_doctests():
    res = doctest.testmod(lm, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 2 and res.failed == 0


def test_blocks_become_numbered_quotes_and_solutions_name_their_exercise():
    chapter = ["(sec-x)=\n## Section X\n",
               "```{exercise} First\n:label: ex-a\n\nDo $x^2$.\n```\n\n"
               "````{solution} ex-a\n:class: dropdown\n\n```python\nx = 1\n```\n````",
               "```{exercise} Second\n:label: ex-b\nMore.\n```"]
    labels = lm.labels_of({"03_demo": chapter})
    assert labels == {"sec-x": ("03_demo", "Section X"),
                      "ex-a": ("03_demo", "Exercise 1 (First)"),
                      "ex-b": ("03_demo", "Exercise 2 (Second)")}
    nb = {"cells": [{"cell_type": "markdown", "source": s} for s in chapter]
          + [{"cell_type": "code", "source": "{ref}`ex-a`", "outputs": []}]}
    out = lm.convert_notebook(nb, labels, "03_demo")
    md = [c["source"] for c in out["cells"]]
    assert md[0] == "## Section X"
    assert md[1].splitlines() == [
        "> **Exercise 1** (First)", ">", "> Do $x^2$.", "",
        "> **Solution** (to *Exercise 1 (First)*)", ">", "> ```python", "> x = 1", "> ```"]
    assert md[2].splitlines()[0] == "> **Exercise 2** (Second)"
    assert out["cells"][3] == nb["cells"][3], "code cells are left alone"
    assert nb["cells"][1]["source"].startswith("```{exercise}"), "the input is not modified"


@pytest.mark.parametrize(("src", "want"), [
    ("see {cite}`a2020, b2021`", "see [a2020, b2021]"),
    ("{func}`~softmaxlab.softmax` here", "`softmaxlab.softmax` here"),
    ("as {ref}`the text <sec-y>` says", "as the text says"),
    ("in {ref}`sec-y`", "in *Why Y* (chapter 2)"),
    ("in {ref}`unknown-label`", "in unknown-label"),
])
def test_roles_become_text(src, want):
    labels = {"sec-y": ("02_other", "Why Y")}
    assert lm.convert_markdown(src, labels, "05_here") == want


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_converts_with_no_myst_left_and_the_same_code(path):
    nbs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in CHAPTERS}
    labels = lm.labels_of({stem: _md(nb) for stem, nb in nbs.items()})
    nb = nbs[path.stem]
    out = lm.convert_notebook(nb, labels, path.stem)
    left = [m.group(0) for s in _md(out) for m in MYST_LEFT.finditer(s)]
    assert not left, f"MyST markup left in the lite copy of {path.name}: {left[:5]}"
    for src in _md(out):  # no math span crosses the lines of a quote (see the module)
        quoted = [ln[2:] if ln.startswith("> ") else ln[1:]
                  for ln in src.splitlines() if ln.startswith(">")]
        assert lm._join_math_lines(quoted) == quoted, src[:300]
    code = [c for c in nb["cells"] if c["cell_type"] != "markdown"]
    lite = [c for c in out["cells"] if c["cell_type"] != "markdown"]
    assert len(out["cells"]) == len(nb["cells"])
    assert [c["source"] for c in lite] == [c["source"] for c in code]
    for a, b in zip(lite, code):
        assert a.get("outputs") == lm.joined_outputs(b.get("outputs", [])) or (
            not a.get("outputs") and not b.get("outputs"))
        for o in a.get("outputs", []):  # no list of lines left (JupyterLite shows commas)
            assert not isinstance(o.get("text"), list)
            assert not any(isinstance(v, list) for v in o.get("data", {}).values())


def test_outputs_are_joined_and_nothing_else_changes():
    outs = [{"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
            {"output_type": "display_data", "metadata": {},
             "data": {"text/plain": ["x\n", "y"], "image/png": "iVBOR"}}]
    assert lm.joined_outputs(outs) == [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/plain": "x\ny", "image/png": "iVBOR"}}]
    assert outs[0]["text"] == ["a\n", "b\n"], "the input is not modified"
