"""Exercise: the loss of a counting bigram model on its own sequence (chapter 8)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run

# --------------------------------------------------------------------------- known mistakes


def _wrapped(ids, v):  # the pair (last, first) counted and scored as well
    ring = np.append(ids, ids[0])
    return ref.bigram_nll(ring, v).mean()


def _last_dropped(ids, v):  # range(len(ids) - 2): one pair short
    return ref.bigram_nll(ids[:-1], v).mean()


def _over_len(ids, v):
    return ref.bigram_nll(ids, v).sum() / len(ids)


def _joint(ids, v):  # count(a, b) / number of pairs
    a, b = ids[:-1], ids[1:]
    counts = np.zeros((v, v))
    np.add.at(counts, (a, b), 1.0)
    return -np.log(counts[a, b] / len(a)).mean()


def _unigram(ids, v):  # count(b) / number of tokens
    counts = np.bincount(ids, minlength=v)
    return -np.log(counts[ids[1:]] / len(ids)).mean()


VARIANTS = [
    Variant(
        lambda ids, v: ref.bigram_nll(ids, v).mean() / math.log(2),
        "your loss is in bits (log base 2): it is 1 / ln 2 = 1.4427 times the "
        "loss in nats. Use the natural logarithm, np.log.",
    ),
    Variant(
        lambda ids, v: ref.bigram_nll(ids, v, axis=0).mean(),
        "you normalised the count table over the wrong axis: P(b | a) divides "
        "count(a, b) by the total of row a, counts.sum(axis=1, keepdims=True) "
        "(every pair that starts with a), not by the total of column b.",
    ),
    Variant(
        lambda ids, v: ref.bigram_nll(ids, v, smooth=1.0).mean(),
        "you added 1 to every count (add-one smoothing); the maximum-likelihood "
        "bigram model uses the counts themselves: count(a, b) / count(a, .).",
    ),
    Variant(
        lambda ids, v: ref.bigram_nll(ids, v).sum(),
        "your loss is {n_pairs} times too large: you summed -log P over the "
        "{n_pairs} pairs; divide by their number (take the mean).",
    ),
    Variant(
        _over_len,
        "you divided by len(ids) = {n_tokens}, but a sequence of {n_tokens} "
        "tokens has {n_pairs} pairs (ids[t], ids[t+1]); take the mean over them.",
    ),
    Variant(
        _wrapped,
        "you also counted the pair (ids[-1], ids[0]) that wraps around from the "
        "end to the start; the pairs are (ids[t], ids[t+1]) for t = 0 .. "
        "len(ids) - 2 only, e.g. zip(ids[:-1], ids[1:]).",
    ),
    Variant(
        _last_dropped,
        "your pairs stop one short: there are len(ids) - 1 = {n_pairs} pairs "
        "(ids[t], ids[t+1]) for t = 0 .. len(ids) - 2, so the loop is "
        "range(len(ids) - 1), or zip(ids[:-1], ids[1:]).",
    ),
    Variant(
        lambda ids, v: -ref.bigram_nll(ids, v).mean(),
        "your loss has the wrong sign: you returned the mean log-likelihood "
        "log P(b | a); the loss is its negative, -log P(b | a) >= 0.",
    ),
    Variant(
        _joint,
        "you used the joint frequency count(a, b) / (number of pairs); the "
        "model is the conditional P(b | a) = count(a, b) / count(a, .), each "
        "row of the table divided by its own total.",
    ),
    Variant(
        _unigram,
        "you scored each token by its own frequency (a unigram model); the "
        "bigram model conditions on the previous token: count(a, b) / count(a, .).",
    ),
]


def _shape_hint(case: Case, got: np.ndarray) -> str:
    n_pairs, v = case.ctx["n_pairs"], case.ctx["V"]
    if got.shape == (n_pairs,):
        return (
            f"you returned one loss per pair (shape {got.shape}); the loss is their "
            "mean, a single number."
        )
    if got.shape == (v, v):
        return (
            f"you returned a {v} x {v} table; the checker wants the mean of "
            "-log P(ids[t+1] | ids[t]) over the pairs, a single number."
        )
    return f"the loss is a single number (shape ()), but your result has shape {got.shape}."


def _exc_hint(case: Case, exc: BaseException) -> str | None:
    if isinstance(exc, IndexError):
        return (
            "an index was out of range: the table has shape (V, V) = ({V}, {V}), "
            "and the {n_pairs} pairs are (ids[t], ids[t+1]) for t = 0 .. len(ids) - 2."
        ).format_map(case.ctx)
    if isinstance(exc, ZeroDivisionError):
        return (
            "a division by zero: a token that never starts a pair has row total 0, "
            "but no pair ever looks that row up; divide only the rows you use."
        )
    return None


def exercise() -> Exercise:
    rng = np.random.default_rng(20240608)

    def case(name, ids, v):
        ids = np.asarray(ids, dtype=np.int64)
        ctx = {"V": v, "n_tokens": len(ids), "n_pairs": len(ids) - 1}
        return Case(name, (ids, v), ref.bigram_loss(ids, v), "float64", ctx)

    markov = np.array([[0.1, 0.6, 0.2, 0.1], [0.5, 0.1, 0.1, 0.3],
                       [0.2, 0.2, 0.5, 0.1], [0.7, 0.1, 0.1, 0.1]])
    walk = [3]
    for _ in range(199):
        walk.append(int(rng.choice(4, p=markov[walk[-1]])))
    return Exercise(
        "bigram loss",
        "fn(ids, vocab_size)",
        [
            case("9 hand-made tokens, V = 3", [2, 0, 1, 0, 0, 1, 0, 1, 1], 3),
            case("a token that repeats: 1 1 1 0 1 1 2, V = 3", [1, 1, 1, 0, 1, 1, 2], 3),
            case("token 3 never occurs (V = 5)", [0, 4, 1, 4, 0, 2, 4, 4, 1, 4], 5),
            case("V = 50, larger than the ids used", [12, 3, 7, 7, 3, 12, 3, 3], 50),
            case("a sequence of length 2: one pair, loss 0", [2, 0], 3),
            case("a deterministic cycle 0 1 2 0 1 2 0: loss 0", [0, 1, 2, 0, 1, 2, 0], 3),
            case("200 tokens from a Markov chain, V = 4", walk, 4),
        ],
        VARIANTS,
        nonfinite_hint=(
            "your loss is nan or inf: every pair in the sequence has a count of at "
            "least 1, so -log P is finite; look for log(0) from a pair looked up in "
            "the wrong place, or 0/0 from a row with no pairs."
        ),
        value_hint=hints.nonnegative_loss("-log P(b | a) is never negative: check the sign"),
        shape_hint=_shape_hint,
        exc_hint=_exc_hint,
    )


@checker_doc
def check_bigram_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check the loss of a counting bigram model, ``fn(ids, vocab_size) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(ids, vocab_size)`` with `ids` a 1-D
        int64 array of token ids in ``0 .. V-1`` (at least 2 of them) and
        `vocab_size` the int V.  It must fit the bigram model on the pairs
        ``(ids[t], ids[t+1])``, ``t = 0 .. len(ids) - 2``, by counting, and return
        the mean negative log-likelihood of each next token in nats, a number;
        and leave `ids` unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    With :math:`c(a, b)` the number of pairs :math:`(a, b)` in the sequence
    :math:`x_0, \dots, x_{n-1}` and the maximum-likelihood (unsmoothed) model
    :math:`P(b \mid a) = c(a, b) / \sum_{b'} c(a, b')`:

    .. math::

        L = -\frac{1}{n - 1} \sum_{t=0}^{n-2} \ln P(x_{t+1} \mid x_t)

    Every pair scored was counted, so L is finite.  Cases: hand-made sequences
    (with a repeated token), a token that never occurs, V = 50 larger than the
    ids used, a sequence of length 2 and a deterministic cycle (loss 0), and
    200 tokens from a 4-state Markov chain.  Tolerances: ``rtol = 1e-6,
    atol = 1e-9``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_bigram_loss
    >>> def bigram_loss(ids, vocab_size):
    ...     counts = np.zeros((vocab_size, vocab_size))
    ...     np.add.at(counts, (ids[:-1], ids[1:]), 1)
    ...     rows = counts[ids[:-1]]
    ...     p = rows[np.arange(len(ids) - 1), ids[1:]] / rows.sum(axis=1)
    ...     return -np.log(p).mean()
    >>> result = check_bigram_loss(bigram_loss)
    bigram loss: all 7 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_bigram_loss")
