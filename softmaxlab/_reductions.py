r"""The reductions of a loss, as one table.

Each entry of :data:`TABLE` says everything the library knows about one value
of the ``reduction`` argument: its name (PyTorch's where PyTorch has it), the
Caffe ``LossParameter.normalization`` mode it corresponds to, what the summed
loss is divided by (text for the docs), how that divisor is computed, and
whether the result is one loss per position.  Everything else is derived from
the table: :data:`REDUCTIONS`, the checks of the ``reduction`` argument of
each loss, the reductions table in the docstrings, the Caffe name mapping of
the ``SoftmaxWithLoss`` layer and every "is this per-position?" question.

Adding a reduction is one :class:`Reduction` entry in :data:`TABLE` (plus its
tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._validation import argument_error

__all__ = [
    "REDUCTIONS",
    "TABLE",
    "Counts",
    "Reduction",
    "caffe_name",
    "check_reduction",
    "divisor",
    "get",
    "is_per_position",
    "names_for",
    "reduction_for_caffe",
    "table_rst",
]


class Counts:
    """What a divisor may need to know about one loss call.

    `positions` is the number of label entries M (ignored ones included),
    `batch` the length N of the first non-class axis; `weighted` is a callable
    that returns the summed class weights of the non-ignored positions (their
    count without weights), a Python number or a 0-d array.  It is called only
    by the reductions that need it, since it may cost a pass over the labels.
    """

    __slots__ = ("positions", "batch", "weighted")

    def __init__(self, positions: int, batch: int, weighted: Callable[[], Any] | None = None):
        self.positions = positions
        self.batch = batch
        self.weighted = weighted if weighted is not None else (lambda: positions)

    def __repr__(self) -> str:
        return f"Counts(positions={self.positions}, batch={self.batch})"


@dataclass(frozen=True)
class Reduction:
    """One value of the ``reduction`` argument.

    Attributes
    ----------
    name : str
        The value users pass (PyTorch's spelling where PyTorch has it).
    caffe : str or None
        The Caffe ``LossParameter.normalization`` mode with the same meaning.
    pytorch : bool
        Whether PyTorch's losses accept `name` with this meaning.
    divides_by : str
        What the summed loss is divided by, in words (for the docs).
    compute : callable
        ``compute(counts) -> divisor`` (a Python number or a 0-d array) from a
        :class:`Counts`.
    per_position : bool
        The loss stays one value per position (no sum, no divisor).
    losses : tuple of str
        The loss families that accept it (``"ce"``, ``"hinge"``).
    """

    name: str
    caffe: str | None
    pytorch: bool
    divides_by: str
    compute: Callable[[Counts], Any]
    per_position: bool = False
    losses: tuple = ("ce", "hinge")

    @property
    def needs_positions(self) -> bool:
        """Whether an empty batch (no position) makes the divisor meaningless."""
        return not self.per_position and self.name != "sum"


#: The reductions, in the order the docs list them.
TABLE: tuple[Reduction, ...] = (
    Reduction("none", None, True, "nothing: one loss per position", lambda c: 1,
              per_position=True),
    Reduction("sum", "NONE", True, "1", lambda c: 1),
    Reduction("mean", "VALID", True,
              "the summed class weights of the non-ignored positions (their count "
              "without weights; for probability targets the number of positions)",
              lambda c: c.weighted()),
    Reduction("full", "FULL", False, "the number of positions, ignored ones included",
              lambda c: c.positions, losses=("ce",)),
    Reduction("batch_size", "BATCH_SIZE", False, "N, the length of the first non-class axis",
              lambda c: c.batch, losses=("ce",)),
)

_BY_NAME = {r.name: r for r in TABLE}
_BY_CAFFE = {r.caffe: r for r in TABLE if r.caffe is not None}

#: Valid values of ``reduction`` for :func:`softmaxlab.cross_entropy`.
REDUCTIONS: tuple[str, ...] = tuple(r.name for r in TABLE if "ce" in r.losses)


def names_for(loss: str) -> tuple[str, ...]:
    """The reduction names that the loss family `loss` (``"ce"``, ``"hinge"``) accepts."""
    return tuple(r.name for r in TABLE if loss in r.losses)


def get(name: str) -> Reduction:
    """The table entry of a (valid) reduction name."""
    return _BY_NAME[name]


def check_reduction(reduction: Any, fn: str, loss: str = "ce") -> Reduction:
    """The entry for `reduction`, or the house ValueError naming the valid ones."""
    entry = _BY_NAME.get(reduction) if type(reduction) is str else None
    if entry is not None and loss in entry.losses:  # the valid call, without a scan
        return entry
    valid = names_for(loss)
    if not isinstance(reduction, str) or reduction not in valid:
        raise argument_error(fn, "reduction", "one of " + ", ".join(repr(r) for r in valid),
                             repr(reduction))
    return _BY_NAME[reduction]


def is_per_position(reduction: str) -> bool:
    """Whether `reduction` keeps one loss per position (``"none"``)."""
    return _BY_NAME[reduction].per_position


def divisor(reduction: str, counts: Counts):
    """The divisor of the summed loss for `reduction` (a number or a 0-d array)."""
    return _BY_NAME[reduction].compute(counts)


def reduction_for_caffe(name: Any, fn: str = "SoftmaxWithLoss") -> str:
    """The reduction meant by a Caffe ``normalization`` mode (case-insensitive).

    >>> reduction_for_caffe("VALID"), reduction_for_caffe("none")
    ('mean', 'sum')
    """
    key = str(name).upper() if isinstance(name, str) else None
    if key not in _BY_CAFFE:
        raise argument_error(fn, "normalization", "one of " + ", ".join(
            repr(k) for k in _BY_CAFFE), repr(name))
    return _BY_CAFFE[key].name


def caffe_name(reduction: str) -> str | None:
    """The Caffe ``normalization`` mode of `reduction` (None where Caffe has none).

    >>> caffe_name("mean"), caffe_name("none")
    ('VALID', None)
    """
    return _BY_NAME[reduction].caffe


def table_rst(loss: str = "ce", indent: str = "") -> str:
    """The reductions of `loss` as a reStructuredText table (for docstrings)."""
    rows = [("``reduction``", "Caffe", "PyTorch", "divides the summed loss by")]
    for r in TABLE:
        if loss in r.losses:
            rows.append((f'``"{r.name}"``', f"``{r.caffe}``" if r.caffe else "--",
                         f'``"{r.name}"``' if r.pytorch else "--", r.divides_by))
    return _rst_table(rows, indent, wrap_last=44)


def _rst_table(rows: list, indent: str, wrap_last: int) -> str:
    import textwrap

    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    last = max(len(w) for r in rows for w in textwrap.wrap(r[-1], wrap_last))
    widths.append(last)
    rule = indent + "  ".join("=" * w for w in widths)
    out = [rule]
    for k, r in enumerate(rows):
        lines = textwrap.wrap(r[-1], wrap_last) or [""]
        for j, text in enumerate(lines):
            cells = [c if j == 0 else "" for c in r[:-1]] + [text]
            out.append((indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths))).rstrip())
        if k == 0:
            out.append(rule)
    out.append(rule)
    return "\n".join(out)
