"""Shared docstring sections, filled into docstrings that sit next to their ``def``.

The one mechanism for text that several docstrings share (SciPy's
``scipy._lib.doccer`` does the same): a docstring names a section as
``%(name)s`` on a line of its own, and :func:`fill` replaces it with the
section's text, indented like the placeholder.  Nothing else in the docstring
changes (other ``%`` signs stay as they are), a section may itself hold
placeholders, and a name that is not in the
sections raises a KeyError at import time, so a typo cannot reach the docs.

>>> sections = {"x_param": "x : array\\n    The input."}
>>> @fill(sections)
... def f(x):
...     '''Do nothing.
...
...     Parameters
...     ----------
...     %(x_param)s
...     '''
>>> print(f.__doc__.splitlines()[4])
    x : array
>>> print(f.__doc__.splitlines()[5])
        The input.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping

__all__ = ["docformat", "fill"]

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def docformat(doc: str | None, sections: Mapping[str, str]) -> str | None:
    """`doc` with each ``%(name)s`` line replaced by ``sections[name]``, indented alike."""
    if doc is None:  # python -OO strips docstrings
        return None

    def repl(match: re.Match) -> str:
        text = docformat(textwrap.dedent(sections[match["name"]]).strip("\n"), sections)
        return textwrap.indent(text, match["indent"], lambda line: line.strip() != "")

    return _PLACEHOLDER.sub(repl, doc)


def fill(sections: Mapping[str, str]) -> Callable:
    """Decorator: fill the shared sections into the function's docstring."""
    def decorate(obj):
        obj.__doc__ = docformat(obj.__doc__, sections)
        return obj
    return decorate
