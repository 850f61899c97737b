r"""Text as a classification problem: Tiny Shakespeare and a character vocabulary.

Chapter 8 of the book trains language models whose classes are the characters
of a text.  This module ships that text (compressed, inside the package, so
that nothing downloads) and the helpers that turn it into integer sequences and
back:

* :func:`load_tiny_shakespeare` -- the 1,115,394 characters of Tiny Shakespeare;
* :class:`CharVocabulary` -- the sorted set of characters of a text, with
  ``encode`` (text to ``int64`` ids) and ``decode`` (ids to text);
* :func:`context_windows` -- (previous ``context`` ids, next id) pairs, the
  inputs and labels of a next-character classifier.

The functions are re-exported by :mod:`softmaxlab.datasets`.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import to_numpy

__all__ = ["CharVocabulary", "context_windows", "load_tiny_shakespeare",
           "TINY_SHAKESPEARE_SHA256"]

#: sha256 of the decompressed Tiny Shakespeare text (UTF-8 bytes), as published
#: with ``data/tinyshakespeare/input.txt`` of the karpathy/char-rnn repository.
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

_DATA_FILE = "tinyshakespeare.txt.gz"
_CACHE: dict[str, str] = {}


def load_tiny_shakespeare() -> str:
    r"""The Tiny Shakespeare corpus: 1,115,394 characters of Shakespeare's plays.

    The text ships inside the package (``softmaxlab/data/tinyshakespeare.txt.gz``,
    gzip -9); nothing is downloaded.  It is the file
    ``data/tinyshakespeare/input.txt`` of the public repository karpathy/char-rnn,
    which made it the standard small corpus for character-level language
    models; the plays are in the public domain.  The decompressed bytes are
    checked against ``softmaxlab._text.TINY_SHAKESPEARE_SHA256`` on the first call.

    Returns
    -------
    str
        The whole text: 65 distinct characters (the 52 letters, space,
        newline, ten punctuation marks and the digit 3).

    Raises
    ------
    RuntimeError
        If the packaged file is missing or its checksum does not match (a
        damaged installation).

    Notes
    -----
    A model that knows nothing gives each of the :math:`V = 65` characters the
    probability :math:`1/V`, so its cross-entropy is :math:`\ln 65 \approx 4.1744`
    nats per character.

    Examples
    --------
    >>> from softmaxlab.datasets import load_tiny_shakespeare
    >>> text = load_tiny_shakespeare()
    >>> len(text), len(set(text))
    (1115394, 65)
    >>> print(text[:25])
    First Citizen:
    Before we
    """
    if "text" not in _CACHE:
        try:
            raw = resources.files("softmaxlab").joinpath("data", _DATA_FILE).read_bytes()
        except (FileNotFoundError, OSError) as exc:
            raise RuntimeError(
                f"load_tiny_shakespeare: the packaged file softmaxlab/data/{_DATA_FILE} is "
                "missing; reinstall softmaxlab (it ships inside the wheel)") from exc
        data = gzip.decompress(raw)
        digest = hashlib.sha256(data).hexdigest()
        if digest != TINY_SHAKESPEARE_SHA256:
            raise RuntimeError(
                f"load_tiny_shakespeare: the packaged text has sha256 {digest}; expected "
                f"{TINY_SHAKESPEARE_SHA256} (a damaged installation: reinstall softmaxlab)")
        _CACHE["text"] = data.decode("utf-8")
    return _CACHE["text"]


class CharVocabulary:
    r"""The sorted characters of a text, and the maps between characters and ids.

    Parameters
    ----------
    text : str or iterable of str
        The text whose distinct characters form the vocabulary (or the
        characters themselves).  Id ``i`` is the ``i``-th character in sorted
        (code point) order.

    Attributes
    ----------
    chars : tuple of str
        The characters, sorted; ``chars[i]`` is the character of id ``i``.
    size : int
        :math:`V`, the number of characters (also ``len(vocab)``).

    Raises
    ------
    TypeError
        If `text` is not a string (or an iterable of one-character strings).
    ValueError
        If the text is empty.

    Examples
    --------
    >>> from softmaxlab.datasets import CharVocabulary
    >>> vocab = CharVocabulary("hello world")
    >>> vocab
    CharVocabulary(8 characters: ' dehlorw')
    >>> ids = vocab.encode("hold")
    >>> ids
    array([3, 5, 4, 1])
    >>> vocab.decode(ids)
    'hold'
    """

    def __init__(self, text: str | Iterable[str]):
        fn = "CharVocabulary"
        if isinstance(text, str):
            chars = set(text)
        else:
            try:
                chars = set(text)
            except TypeError:
                raise V.argument_error(fn, "text", "a string", type(text).__name__,
                                       TypeError) from None
            bad = [c for c in chars if not (isinstance(c, str) and len(c) == 1)]
            if bad:
                raise V.argument_error(fn, "text", "a string or one-character strings",
                                       repr(bad[0]), TypeError)
        if not chars:
            raise V.argument_error(fn, "text", "a non-empty string", "an empty one")
        self.chars = tuple(sorted(chars))
        self.size = len(self.chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        # A lookup table over code points, for encoding long texts quickly.
        self._table = np.full(max(map(ord, self.chars)) + 1, -1, dtype=np.int64)
        for i, c in enumerate(self.chars):
            self._table[ord(c)] = i

    def __len__(self) -> int:
        return self.size

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def __repr__(self) -> str:
        shown = "".join(self.chars)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"CharVocabulary({self.size} characters: {shown!r})"

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of `text`, as a NumPy ``int64`` array.

        Raises
        ------
        TypeError
            If `text` is not a string.
        ValueError
            If `text` holds a character outside the vocabulary (the message
            names it and its position).
        """
        fn = "CharVocabulary.encode"
        if not isinstance(text, str):
            raise V.argument_error(fn, "text", "a string", type(text).__name__, TypeError)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        inside = codes < self._table.size
        ids = np.where(inside, self._table[np.where(inside, codes, 0)], -1)
        if (ids < 0).any():
            pos = int(np.flatnonzero(ids < 0)[0])
            raise V.argument_error(
                fn, "text", f"made of the {self.size} characters of the vocabulary",
                f"{text[pos]!r} (code point {ord(text[pos])}) at position {pos}")
        return ids

    def decode(self, ids: Any) -> str:
        """The text of a sequence of ids (a list or a 1-d integer array of any backend).

        Raises
        ------
        TypeError
            If `ids` does not hold integers.
        ValueError
            If `ids` is not 1-d or holds an id outside ``[0, size - 1]``.
        """
        fn = "CharVocabulary.decode"
        a = to_numpy(ids) if hasattr(ids, "__array_namespace__") else np.asarray(ids)
        if a.size == 0:
            return ""
        if a.dtype.kind not in "iu":
            raise V.argument_error(fn, "ids", "integer ids", f"dtype {a.dtype}", TypeError)
        if a.ndim != 1:
            raise V.argument_error(fn, "ids", "a 1-d sequence", f"shape {a.shape}")
        bad = (a < 0) | (a >= self.size)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise V.argument_error(fn, "ids", f"in [0, {self.size - 1}]",
                                   f"{int(a[pos])} at position {pos}")
        return "".join(self.chars[i] for i in a.tolist())


def context_windows(ids: Any, context: int):
    r"""Every (previous `context` ids, next id) pair of a sequence.

    Parameters
    ----------
    ids : array
        A 1-d sequence of integer token ids (NumPy, or an array of any backend).
    context : int
        How many previous tokens each example sees (>= 1).

    Returns
    -------
    X : array
        Shape ``(n - context, context)``: ``X[t] = ids[t : t + context]``, same library and dtype as `ids`.
    y : array
        Shape ``(n - context,)``: ``y[t] = ids[t + context]``, the token to predict.

    Raises
    ------
    ValueError
        If `ids` is not 1-d, or is not longer than `context`.
    TypeError
        If `ids` does not hold integers, or `context` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.datasets import context_windows
    >>> X, y = context_windows(np.array([5, 6, 7, 8]), 2)
    >>> X
    array([[5, 6],
           [6, 7]])
    >>> y
    array([7, 8])
    """
    fn = "context_windows"
    xp, a = V.namespace_and_array(ids, fn, "ids")
    if V.dtype_kind(a.dtype, xp) != "integer":
        raise V.argument_error(fn, "ids", "integer token ids",
                               f"dtype {V.dtype_name(a.dtype)}", TypeError)
    if a.ndim != 1:
        raise V.argument_error(fn, "ids", "a 1-d sequence", f"shape {tuple(a.shape)}")
    k = V.check_int(context, fn, "context", lo=1)
    n = a.shape[0]
    if n <= k:
        raise V.argument_error(fn, "ids", f"longer than context={k}",
                               f"a sequence of length {n}")
    X = xp.stack([a[j:n - k + j] for j in range(k)], axis=1)
    return X, a[k:]

