"""The chapters' MyST markdown as plain Jupyter markdown, for the JupyterLite copies.

JupyterLab renders CommonMark with ``$...$`` math, not MyST: in the lab a
``{prf:definition}``, ``{exercise}``, ``{solution}`` or ``{note}`` block is a
code block that shows its LaTeX as source, ``(label)=`` targets are stray
lines, and roles (``{cite}`...```, ``{ref}`...```) show their markup.
:func:`convert_notebook` rewrites the markdown cells of a chapter for the lite
file system (``tools/build_lite.py`` stages ``book/`` that way): each such
block becomes a bold heading (``**Exercise 2** (title)``) and a quoted body
whose math renders, targets go, and roles become text.  Code cells and their
outputs are not touched, so the lite notebook runs the cells the browser tests
run.  The book itself (``book/*.ipynb``, built by Sphinx) is unchanged.
"""

from __future__ import annotations

import re

#: Directive name -> heading word; blocks of other names keep their name.
HEADINGS = {
    "exercise": "Exercise", "solution": "Solution", "note": "Note",
    "prf:definition": "Definition", "prf:theorem": "Theorem", "prf:proof": "Proof",
    "tip": "Tip", "warning": "Warning", "important": "Important",
}
NUMBERED = ("exercise", "prf:definition", "prf:theorem")

_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*?)\s*$")
_OPTION = re.compile(r"^:[\w-]+:")
_TARGET = re.compile(r"^\((?P<label>[\w:-]+)\)=\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]+)`")


def labels_of(chapters: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """What a ``{ref}`` to each label should read: a section's heading, a block's title.

    *chapters* maps a chapter name to its markdown cells' sources.  The text of
    a label in another chapter is followed by ``(chapter <its number>)``.
    """
    out: dict[str, tuple[str, str]] = {}
    for chapter, cells in chapters.items():
        counts: dict[str, int] = {}
        pending = None  # a target waiting for its heading
        for source in cells:
            for line in source.splitlines():
                m = _TARGET.match(line)
                if m:
                    pending = m["label"]
                    continue
                h = _HEADING.match(line)
                if h and pending:
                    out[pending] = (chapter, _plain_roles(h["text"], {}, chapter))
                    pending = None
                    continue
                if line.strip():
                    pending = None
            for name, arg, options, _body in _blocks(source):
                if name not in NUMBERED:
                    continue
                counts[name] = counts.get(name, 0) + 1
                label = options.get("label")
                if label:
                    word = HEADINGS[name]
                    title = f"{word} {counts[name]}" + (f" ({arg})" if arg else "")
                    out[label] = (chapter, title)
    return out


def _blocks(source: str):
    """(name, argument, options, body lines) of each top-level directive block."""
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence, end = m["fence"], i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        options, body = _split_options(lines[i + 1:end])
        yield m["name"], m["arg"], options, body
        i = end + 1


def _split_options(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    k = 0
    while k < len(lines) and _OPTION.match(lines[k]):
        key, _, value = lines[k][1:].partition(":")
        options[key] = value.strip()
        k += 1
    return options, lines[k:]


def _ref_text(target: str, labels: dict, chapter: str) -> str:
    text, angle = target, re.match(r"^(?P<text>.*?)\s*<(?P<label>[^>]+)>$", target)
    if angle:
        return angle["text"]
    found = labels.get(target)
    if not found:
        return text
    where, text = found
    num = re.match(r"^0*(\d+)_", where)
    if where != chapter and num:
        return f"*{text}* (chapter {num.group(1)})"
    return f"*{text}*"


def _plain_roles(text: str, labels: dict, chapter: str) -> str:
    def role(m: re.Match) -> str:
        name, body = m["role"], m["body"]
        if name.startswith("cite"):
            return "[" + ", ".join(k.strip() for k in body.split(",")) + "]"
        if name in ("ref", "prf:ref", "numref", "eq", "doc"):
            return _ref_text(body.strip(), labels, chapter)
        if name in ("func", "meth", "class", "mod", "attr", "data", "obj", "exc"):
            return "`" + body.strip().lstrip("~.") + "`"
        return body
    return _ROLE.sub(role, text)


def convert_markdown(source: str, labels: dict | None = None, chapter: str = "",
                     counts: dict[str, int] | None = None) -> str:
    r"""One markdown cell's MyST as Jupyter markdown.

    Examples
    --------
    >>> print(convert_markdown("(sec-a)=\n## A\n\nSee {cite}`bishop2006`."))
    ## A
    <BLANKLINE>
    See [bishop2006].
    >>> src = "```{prf:definition} Softmax\n:label: d\n\n$$p = e^z$$\n```"
    >>> print(convert_markdown(src))
    > **Definition 1** (Softmax)
    >
    > $$p = e^z$$
    """
    labels = labels or {}
    counts = {} if counts is None else counts
    out: list[str] = []
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _TARGET.match(line):
            i += 1
            if i < len(lines) and not lines[i].strip() and not out:
                i += 1  # no blank first line where the target was
            continue
        m = _OPEN.match(line)
        if not m:
            out.append(_plain_roles(line, labels, chapter))
            i += 1
            continue
        fence, end = m["fence"], i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        name, arg = m["name"], _plain_roles(m["arg"], labels, chapter)
        _options, body = _split_options(lines[i + 1:end])
        word = HEADINGS.get(name, name)
        if name in NUMBERED:
            counts[name] = counts.get(name, 0) + 1
            word = f"{word} {counts[name]}"
        if name == "solution" and arg:
            head = f"**Solution** (to {_ref_text(arg, labels, chapter)})"
        elif name == "prf:proof":
            head = "**Proof.**" + (f" ({arg})" if arg else "")
        else:
            head = f"**{word}**" + (f" ({arg})" if arg else "")
        while body and not body[0].strip():
            body = body[1:]
        inner = _join_math_lines(
            convert_markdown("\n".join(body), labels, chapter, counts).splitlines())
        out.append("> " + head)
        out.append(">")
        out.extend(("> " + ln) if ln.strip() else ">" for ln in inner)
        i = end + 1
    return "\n".join(out)


def _join_math_lines(lines: list[str]) -> list[str]:
    r"""Lines joined wherever ``$...$`` or ``$$...$$`` math spans a line break.

    Inside a quote each line starts with ``> ``; JupyterLab takes the math out
    of the text before it reads the quote, so the markers of a math span that
    crosses lines end up in the formula.  Fenced code is left as it is.

    >>> _join_math_lines(["a $x +", "y$ b", "$$", "z", "$$", "```", "$ 1", "```"])
    ['a $x + y$ b', '$$ z $$', '```', '$ 1', '```']
    """
    out: list[str] = []
    open_math = ""  # "", "$" or "$$"
    fence = ""
    for line in lines:
        if not open_math and re.match(r"^\s*(`{3,}|~{3,})", line):
            mark = line.strip()[:3]
            fence = "" if fence and mark == fence else (fence or mark)
            out.append(line)
            continue
        if fence:
            out.append(line)
            continue
        if open_math:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == "\\":
                i += 2
                continue
            if c == "`" and not open_math:
                j = line.find("`", i + 1)
                i = len(line) if j < 0 else j + 1
                continue
            if c == "$":
                tok = "$$" if line.startswith("$$", i) else "$"
                if not open_math:
                    open_math = tok
                elif open_math == tok:
                    open_math = ""
                i += len(tok)
                continue
            i += 1
    return out


def _joined(v):
    return "".join(v) if isinstance(v, list) else v


def joined_outputs(outputs: list[dict]) -> list[dict]:
    """*outputs* with every multi-line string (a list of lines in the file) as one string.

    JupyterLite serves the notebook file as it is, and its lab shows a stored
    stream whose ``text`` is a list with a comma between the lines (Jupyter's
    server joins them when it reads the file).
    """
    out = []
    for o in outputs:
        o = dict(o)
        if "text" in o:
            o["text"] = _joined(o["text"])
        if "data" in o:
            o["data"] = {mime: _joined(v) for mime, v in o["data"].items()}
        out.append(o)
    return out


def convert_notebook(nb: dict, labels: dict, chapter: str) -> dict:
    """A copy of the notebook *nb* (a JSON dict) for the lab.

    Markdown cells converted (:func:`convert_markdown`); code cells keep their
    source and outputs, with multi-line strings joined (:func:`joined_outputs`).
    """
    counts: dict[str, int] = {}
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "markdown":
            cell["source"] = convert_markdown(_joined(cell["source"]), labels, chapter, counts)
        elif cell.get("outputs"):
            cell["outputs"] = joined_outputs(cell["outputs"])
        cells.append(cell)
    return {**nb, "cells": cells}
