"""Tiny Shakespeare and the character vocabulary: the packaged text, round trips, errors."""

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmaxlab as sml
from softmaxlab import _text
from softmaxlab.datasets import CharVocabulary, context_windows, load_tiny_shakespeare

ROOT = Path(__file__).resolve().parent.parent
SHARED_README = ROOT.parent.parent / "shared" / "data" / "README.md"


def _published_sha256() -> str:
    """The checksum written in the project's data README (the provenance note)."""
    for readme in (SHARED_README, ROOT / "softmaxlab" / "data" / "README.md"):
        if readme.is_file():
            m = re.search(r"\b([0-9a-f]{64})\b", readme.read_text(encoding="utf-8"))
            if m:
                return m.group(1)
    pytest.fail("no data README with a sha256 found")


def test_text_is_tiny_shakespeare_byte_for_byte():
    text = load_tiny_shakespeare()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == _published_sha256() == _text.TINY_SHAKESPEARE_SHA256
    assert len(text) == 1_115_394
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert load_tiny_shakespeare() is text          # read once


def test_packaged_file_is_the_gzip_next_to_its_provenance_note():
    data = ROOT / "softmaxlab" / "data"
    assert (data / "tinyshakespeare.txt.gz").stat().st_size < 450_000
    note = (data / "README.md").read_text(encoding="utf-8")
    assert "karpathy/char-rnn" in note and _published_sha256() in note


def test_vocabulary_is_the_65_sorted_characters():
    text = load_tiny_shakespeare()
    vocab = CharVocabulary(text)
    assert len(vocab) == vocab.size == 65 == len(set(text))
    assert list(vocab.chars) == sorted(set(text))
    assert vocab.chars[:3] == ("\n", " ", "!") and vocab.chars[-1] == "z"
    assert round(math.log(vocab.size), 4) == 4.1744
    assert "q" in vocab and "#" not in vocab
    assert repr(vocab).startswith("CharVocabulary(65 characters: ")


def test_whole_text_round_trips():
    text = load_tiny_shakespeare()
    vocab = CharVocabulary(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.min() == 0 and ids.max() == 64
    assert vocab.decode(ids) == text
    # Ids follow the sorted order: the character of id i is chars[i].
    np.testing.assert_array_equal(ids[:5], [vocab.chars.index(c) for c in text[:5]])


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=50))
def test_round_trip_property(s):
    vocab = CharVocabulary(s)
    assert vocab.decode(vocab.encode(s)) == s
    assert vocab.decode(vocab.encode(s).tolist()) == s
    assert list(vocab.chars) == sorted(set(s))


def test_decode_takes_backend_arrays(lib):
    vocab = CharVocabulary("abc")
    assert vocab.decode(lib.asarray(np.array([2, 0, 1]))) == "cab"
    assert vocab.decode([]) == ""


def test_character_outside_the_vocabulary_is_named_with_its_position():
    vocab = CharVocabulary(load_tiny_shakespeare())
    with pytest.raises(ValueError, match=r"^CharVocabulary.encode: argument 'text' must be "
                       r"made of the 65 characters of the vocabulary; found '#' "
                       r"\(code point 35\) at position 4$"):
        vocab.encode("abc #")
    with pytest.raises(ValueError, match="found '\u2014' \\(code point 8212\\) at position 1"):
        vocab.encode("a\u2014")                         # beyond the lookup table


@pytest.mark.parametrize("ids,exc,msg", [
    ([0, 65], ValueError, r"argument 'ids' must be in \[0, 64\]; found 65 at position 1"),
    ([-1], ValueError, r"found -1 at position 0"),
    ([0.0, 1.0], TypeError, "argument 'ids' must be integer ids; found dtype float64"),
    ([[0, 1]], ValueError, r"argument 'ids' must be a 1-d sequence; found shape \(1, 2\)"),
])
def test_decode_errors(ids, exc, msg):
    vocab = CharVocabulary(load_tiny_shakespeare())
    with pytest.raises(exc, match="^CharVocabulary.decode: .*" + msg):
        vocab.decode(np.array(ids))


@pytest.mark.parametrize("text,exc,msg", [
    ("", ValueError, "must be a non-empty string; found an empty one"),
    (5, TypeError, "must be a string; found int"),
    (["ab"], TypeError, "must be a string or one-character strings; found 'ab'"),
])
def test_vocabulary_errors(text, exc, msg):
    with pytest.raises(exc, match="^CharVocabulary: argument 'text' " + msg):
        CharVocabulary(text)
    assert CharVocabulary(["b", "a"]).chars == ("a", "b")


def test_encode_refuses_non_strings():
    with pytest.raises(TypeError, match="^CharVocabulary.encode: argument 'text' must be a "
                       "string; found list"):
        CharVocabulary("ab").encode(["a"])


def test_context_windows_pair_each_context_with_the_next_id(lib):
    ids = lib.asarray(np.arange(10, 17))
    X, y = context_windows(ids, 3)
    assert lib.is_native(X) and lib.is_native(y)
    Xn, yn = sml.to_numpy(X), sml.to_numpy(y)
    assert Xn.shape == (4, 3) and yn.shape == (4,)
    np.testing.assert_array_equal(Xn[0], [10, 11, 12])
    np.testing.assert_array_equal(yn, [13, 14, 15, 16])
    for t in range(4):       # X[t] = ids[t:t+3], y[t] = ids[t+3]
        np.testing.assert_array_equal(Xn[t], np.arange(10, 17)[t:t + 3])


@pytest.mark.parametrize("ids,context,exc,msg", [
    (np.arange(3), 3, ValueError, r"argument 'ids' must be longer than context=3; found a "
                                  "sequence of length 3"),
    (np.arange(6).reshape(2, 3), 1, ValueError, "must be a 1-d sequence; found shape"),
    (np.ones(4), 1, TypeError, "must be integer token ids; found dtype float64"),
    (np.arange(4), 0, ValueError, "argument 'context' must be an integer >= 1; found 0"),
    (np.arange(4), 1.5, TypeError, "argument 'context' must be an integer; found 1.5"),
])
def test_context_windows_errors(ids, context, exc, msg):
    with pytest.raises(exc, match="^context_windows: .*" + msg):
        context_windows(ids, context)


def test_nothing_downloads(monkeypatch):
    # The loader reads the packaged file: with sockets disabled it still works.
    import socket

    def refuse(*a, **k):
        raise AssertionError("load_tiny_shakespeare tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(_text, "_CACHE", {})
    assert len(load_tiny_shakespeare()) == 1_115_394
