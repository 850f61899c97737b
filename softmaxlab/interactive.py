r"""Interactive figures for the book: sliders that move the numbers of a chapter.

Each figure has two halves:

* a *frame* function that does the arithmetic of one picture with softmaxlab's
  public functions and returns plain NumPy values (tested without a display);
* an *explorer* that draws the frame at the default settings as an ordinary
  figure output (the still that the static book page shows), then shows
  ipywidgets controls under it; moving a control redraws that same output.

They run alike in local Jupyter and in the book's JupyterLite site (Pyodide
kernel).  ipywidgets and matplotlib are imported only when an explorer is
called: ``pip install "softmaxlab[lab]"`` brings ipywidgets.

=============================  =========  =====================================
explorer                       chapter    frame
=============================  =========  =====================================
:func:`temperature_explorer`   2          :func:`temperature_frame`
:func:`label_smoothing_explorer` 3        :func:`label_smoothing_frame`
:func:`linear_classifier_demo`  4         :func:`linear_classifier_step`,
                                          :func:`decision_regions`
=============================  =========  =====================================
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import to_numpy
from ._validation import argument_error
from .losses import cross_entropy_with_grad, multiclass_hinge_with_grad
from .special import softmax

__all__ = [
    "blobs",
    "decision_regions",
    "label_smoothing_explorer",
    "label_smoothing_frame",
    "linear_classifier_demo",
    "linear_classifier_step",
    "temperature_explorer",
    "temperature_frame",
]

LOSSES = ("softmax", "hinge")
DEFAULT_SCORES = (3.0, 1.0, 0.2)


def _real_array(a: Any, fn: str, name: str, shape: str) -> np.ndarray:
    """`a` as a finite float64 NumPy array with as many dimensions as `shape` names
    (``"(D, K)"``): lists converted, masked arrays refused, the house errors otherwise."""
    a = to_numpy(V.as_array(V.plain_array(a, fn, name), np, fn, name))
    if a.dtype.kind not in "iuf":
        raise argument_error(fn, name, f"an array of real numbers of shape {shape}",
                             f"dtype {a.dtype}", TypeError)
    ndim = len([d for d in shape.strip("()").split(",") if d.strip()])
    if a.ndim != ndim:
        raise argument_error(fn, name, f"{ndim}-D, of shape {shape}", f"shape {a.shape}")
    a = a.astype(np.float64)
    V.check_entries(~np.isfinite(a), a, np, fn, name, "finite")
    return a


def _scores(z: Any, fn: str) -> np.ndarray:
    z = _real_array(z, fn, "z", "(K,)")
    if z.size < 2:
        raise argument_error(fn, "z", "a 1-D vector of at least 2 finite scores",
                             f"shape {z.shape}")
    return z


def _label(y: Any, k: int, fn: str) -> int:
    if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or not 0 <= y < k:
        raise argument_error(fn, "y", f"an integer class index in [0, {k})", repr(y))
    return int(y)


def temperature_frame(z: Any = DEFAULT_SCORES, temperature: float = 1.0) -> dict:
    r"""The softmax of a score vector at temperature T: one frame of chapter 2's slider.

    Parameters
    ----------
    z : array_like
        1-D vector of K scores (logits).
    temperature : float
        T > 0.

    Returns
    -------
    dict
        ``p`` (the probabilities, shape (K,)), ``entropy`` (in nats),
        ``max_p`` and ``argmax``.

    Raises
    ------
    ValueError
        For a `z` that is not a 1-D vector of at least two finite scores, or a
        non-positive `temperature` (from :func:`softmaxlab.softmax`).

    Notes
    -----
    .. math::

        p_j = \frac{e^{z_j / T}}{\sum_k e^{z_k / T}}, \qquad
        H(p) = -\sum_j p_j \ln p_j .

    As T grows, p tends to uniform (H tends to ln K); as T shrinks, to the
    one-hot vector of the largest score (H tends to 0).

    Examples
    --------
    >>> from softmaxlab.interactive import temperature_frame
    >>> f = temperature_frame([3.0, 1.0, 0.2], temperature=1.0)
    >>> f["p"].round(4)
    array([0.836 , 0.1131, 0.0508])
    >>> round(f["entropy"], 4)
    0.5477
    """
    z = _scores(z, "temperature_frame")
    p = softmax(z, temperature=temperature)
    nz = p[p > 0]
    return {"p": p, "entropy": float(-(nz * np.log(nz)).sum()),
            "max_p": float(p.max()), "argmax": int(p.argmax())}


def label_smoothing_frame(z: Any = DEFAULT_SCORES, y: int = 0,
                          epsilon: float = 0.1) -> dict:
    r"""Target, loss and gradient of cross-entropy with label smoothing ε (chapter 3).

    Parameters
    ----------
    z : array_like
        1-D vector of K scores.
    y : int
        The true class.
    epsilon : float
        Smoothing ε in [0, 1].

    Returns
    -------
    dict
        ``target`` (the smoothed target q), ``p`` (softmax of z), ``loss``
        (:func:`softmaxlab.cross_entropy_with_grad` with ``label_smoothing=ε``)
        and ``grad`` (its gradient with respect to z, which is p - q).

    Raises
    ------
    ValueError
        For a bad `z`, a `y` outside [0, K) or an ε outside [0, 1].

    Notes
    -----
    .. math::

        q_j = (1 - \varepsilon)\,[j = y] + \frac{\varepsilon}{K}, \qquad
        L = -\sum_j q_j \ln p_j, \qquad \frac{\partial L}{\partial z} = p - q .

    With ε > 0 the loss cannot reach 0: its minimum over z is the entropy of q.

    Examples
    --------
    >>> from softmaxlab.interactive import label_smoothing_frame
    >>> f = label_smoothing_frame([3.0, 1.0, 0.2], y=0, epsilon=0.3)
    >>> f["target"].round(4)
    array([0.8, 0.1, 0.1])
    >>> bool(abs(f["grad"] - (f["p"] - f["target"])).max() < 1e-15)
    True
    """
    fn = "label_smoothing_frame"
    z = _scores(z, fn)
    y = _label(y, z.size, fn)
    loss, grad = cross_entropy_with_grad(z[None, :], np.array([y]),
                                         label_smoothing=epsilon)
    k = z.size
    target = np.full(k, epsilon / k)
    target[y] += 1.0 - epsilon
    return {"target": target, "p": softmax(z), "loss": float(loss), "grad": grad[0]}


def blobs(n_per_class: int = 12, k: int = 3, *, spread: float = 0.45,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points of *k* classes in the plane, one Gaussian blob each (seeded).

    Parameters
    ----------
    n_per_class : int
        Points per class.
    k : int
        Number of classes K (2 to 8); the blobs' centres sit on the unit circle.
    spread : float
        Standard deviation of each blob.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : ndarray
        (N, 2) float64 points, N = k * n_per_class.
    y : ndarray
        (N,) int64 labels.

    Raises
    ------
    ValueError
        For ``n_per_class < 1``, `k` outside [2, 8], a negative or non-finite
        `spread`, or a negative `seed`.
    TypeError
        If `n_per_class`, `k` or `seed` is not an integer (a float such as
        2.5, a bool, a string), or `spread` is not a real number.

    Examples
    --------
    >>> from softmaxlab.interactive import blobs
    >>> X, y = blobs(4, 3)
    >>> X.shape, y.tolist()
    ((12, 2), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    """
    n_per_class = V.check_count(n_per_class, "blobs", "n_per_class")
    k = V.check_count(k, "blobs", "k", minimum=2, expected="an integer in [2, 8]")
    if k > 8:
        raise argument_error("blobs", "k", "an integer in [2, 8]", repr(k))
    spread = V.check_real_scalar(spread, "blobs", "spread", lo=0.0)
    rng = np.random.default_rng(V.check_int(seed, "blobs", "seed", lo=0))
    angles = 2 * np.pi * np.arange(k) / k + np.pi / 6
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    X = np.repeat(centres, n_per_class, axis=0)
    X = X + spread * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(k, dtype=np.int64), n_per_class)
    return X, y


def linear_classifier_step(W: Any, b: Any, X: Any, y: Any, *, loss: str = "softmax",
                           margin: float = 1.0, weight_decay: float = 1e-3,
                           learning_rate: float = 0.5) -> dict:
    r"""One full-batch gradient step of a linear classifier, scores = X W + b.

    Parameters
    ----------
    W : array_like
        (D, K) weights.
    b : array_like
        (K,) biases.
    X : array_like
        (N, D) inputs.
    y : array_like
        (N,) integer labels.
    loss : {"softmax", "hinge"}
        Softmax cross-entropy (:func:`softmaxlab.cross_entropy_with_grad`) or
        the multiclass hinge (:func:`softmaxlab.multiclass_hinge_with_grad`,
        with margin Δ = `margin`).
    margin : float
        Δ of the hinge (ignored for softmax).
    weight_decay : float
        λ ≥ 0.
    learning_rate : float
        Step size η > 0.

    Returns
    -------
    dict
        ``W``, ``b`` (the new parameters; the inputs are not modified),
        ``data_loss``, ``reg_loss`` and ``loss`` (their sum), all evaluated
        *before* the step, and ``accuracy`` (before the step).

    Raises
    ------
    ValueError
        For an unknown `loss`; a negative `weight_decay`, a non-positive
        `learning_rate` or any of the three not finite; shapes that do not fit
        (W not 2-D, b not (K,), X not (N, D), y not (N,)); NaN or inf in
        `W`, `b` or `X`; labels outside [0, K).
    TypeError
        If `margin`, `weight_decay` or `learning_rate` is not a real number
        (a bool, a string), an array is not real numbers or is a
        ``numpy.ma`` masked array, or `y` is not integers.

    Notes
    -----
    .. math::

        L(W, b) = \frac{1}{N} \sum_i \ell(x_i W + b,\, y_i)
                  + \frac{\lambda}{2} \lVert W \rVert^2, \qquad
        W \leftarrow W - \eta \left(X^\top \frac{\partial L}{\partial S}
                  + \lambda W\right), \quad
        b \leftarrow b - \eta\, \mathbf{1}^\top \frac{\partial L}{\partial S} .

    The biases are not decayed (as in CS231n).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.interactive import blobs, linear_classifier_step
    >>> X, y = blobs(10, 3)
    >>> s = linear_classifier_step(np.zeros((2, 3)), np.zeros(3), X, y)
    >>> round(s["loss"], 4)  # all scores 0: ln 3
    1.0986
    """
    fn = "linear_classifier_step"
    loss = V.check_choice(loss, LOSSES, fn, "loss")
    margin = V.check_real_scalar(margin, fn, "margin")
    weight_decay = V.check_real_scalar(weight_decay, fn, "weight_decay", lo=0.0)
    learning_rate = V.check_real_scalar(learning_rate, fn, "learning_rate", lo=0.0,
                                        lo_open=True)
    W, b = _linear_params(W, b, fn, None)
    X = _real_array(X, fn, "X", "(N, D)")
    if X.shape[1] != W.shape[0]:
        raise argument_error(fn, "X", f"of shape (N, {W.shape[0]}) for W of shape "
                             f"{W.shape}", f"shape {X.shape}", must="be")
    y = to_numpy(V.as_array(V.plain_array(y, fn, "y"), np, fn, "y"))
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise argument_error(fn, "y", f"integer labels of shape ({X.shape[0]},)",
                             f"{y.dtype} of shape {y.shape}")
    V.check_entries((y < 0) | (y >= W.shape[1]), y, np, fn, "y",
                    f"class labels in [0, {W.shape[1] - 1}]")
    S = X @ W + b
    if loss == "softmax":
        data_loss, dS = cross_entropy_with_grad(S, y)
    else:
        data_loss, dS = multiclass_hinge_with_grad(S, y, margin=margin)
    reg_loss = 0.5 * weight_decay * float((W * W).sum())
    dW = X.T @ dS + weight_decay * W
    db = dS.sum(axis=0)
    return {"W": W - learning_rate * dW, "b": b - learning_rate * db,
            "data_loss": float(data_loss), "reg_loss": reg_loss,
            "loss": float(data_loss) + reg_loss,
            "accuracy": float((S.argmax(axis=1) == y).mean())}


def decision_regions(W: Any, b: Any, *, extent: float = 2.5,
                     resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The class a linear classifier picks at each point of a square grid.

    Parameters
    ----------
    W, b : array_like
        (2, K) weights and (K,) biases.
    extent : float
        The grid spans [-extent, extent] on both axes.
    resolution : int
        Grid points per axis.

    Returns
    -------
    xx, yy : ndarray
        (resolution, resolution) coordinates.

    Raises
    ------
    ValueError
        If `W` is not (2, K) or `b` not (K,), either holds NaN or inf, `extent`
        is not a number in (0, 1e150] or `resolution` not in [2, 4096].
    TypeError
        If `extent` is not a real number, `resolution` not an integer (a
        float, a bool), or an array is not real numbers or is a ``numpy.ma``
        masked array.
    labels : ndarray
        (resolution, resolution) argmax of the scores (ties: the lower class).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.interactive import decision_regions
    >>> W = np.array([[1.0, -1.0], [0.0, 0.0]])  # class 0 wins where x > 0
    >>> xx, yy, lab = decision_regions(W, np.zeros(2), resolution=4)
    >>> lab[0].tolist()
    [1, 1, 0, 0]
    """
    fn = "decision_regions"
    W, b = _linear_params(W, b, fn, 2)
    # Bounded so that the grid's coordinates and scores stay finite and the grid
    # fits in memory (a figure needs a few hundred points a side at most).
    extent = V.check_real_scalar(extent, fn, "extent", lo=0.0, hi=1e150, lo_open=True)
    resolution = V.check_count(resolution, fn, "resolution", minimum=2,
                               expected="an integer in [2, 4096]")
    if resolution > 4096:
        raise V.argument_error(fn, "resolution", "an integer in [2, 4096]", str(resolution))
    g = np.linspace(-extent, extent, resolution)
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    labels = (pts @ W + b).argmax(axis=1).reshape(xx.shape)
    return xx, yy, labels


def _linear_params(W: Any, b: Any, fn: str, d: int | None) -> tuple[np.ndarray, np.ndarray]:
    """`W` (D, K) (with D = `d` when given) and `b` (K,) as finite float64 arrays."""
    shape = "(D, K)" if d is None else f"({d}, K)"
    W = _real_array(W, fn, "W", shape)
    if d is not None and W.shape[0] != d:
        raise argument_error(fn, "W", f"of shape {shape}", f"shape {W.shape}")
    b = _real_array(b, fn, "b", "(K,)")
    if b.shape != (W.shape[1],):
        raise argument_error(fn, "b", f"of shape ({W.shape[1]},), one bias per column of W",
                             f"shape {b.shape}")
    return W, b


# --------------------------------------------------------------------------
# Drawing and widgets (matplotlib and ipywidgets imported only when called)
# --------------------------------------------------------------------------

def _require_widgets(fn: str):
    try:
        import ipywidgets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"{fn}: needs ipywidgets; install it with "
                          "pip install 'softmaxlab[lab]' (or pip install ipywidgets)"
                          ) from None
    return ipywidgets


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def _png(fig):
    """The figure as a retina PNG display object (sharp on high-DPI screens)."""
    from IPython.display import Image
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200)
    return Image(data=buf.getvalue(), format="png", retina=True)


class _Live:
    """One figure output that controls redraw in place (an IPython display id)."""

    def __init__(self, draw):
        from IPython.display import display
        self.draw = draw
        self.handle = display(_png(draw()), display_id=True)

    def redraw(self, change=None) -> None:
        # a slider's view may hand back its value rounded in the last bits
        # (10 ** log10(v)); that is no change to draw
        if (change is not None and isinstance(change.get("old"), float)
                and isinstance(change.get("new"), float)
                and math.isclose(change["old"], change["new"], rel_tol=1e-9)):
            return
        self.handle.update(_png(self.draw()))


def _log_slider(w, fn: str, name: str, value: float, lo_exp: float, hi_exp: float,
                step: float, **kw):
    """A FloatLogSlider from 10**`lo_exp` to 10**`hi_exp` whose grid passes through `value`.

    The browser's slider snaps its value to ``min + k * step``; when
    log10(`value`) is not on that grid, the view sends back the snapped value
    as soon as it is shown (T = 1 became 0.9976 with min = log10(0.05) and
    step 0.01), and the figure is redrawn at a setting nobody chose.  The
    step is adjusted (by a fraction of itself) so that log10(`value`) is
    ``min + k * step``; the ends stay where they were asked for.
    """
    if not (isinstance(value, (int, float, np.floating)) and 0 < value < math.inf):
        raise argument_error(fn, name, "a finite number > 0 (its slider is logarithmic)",
                             repr(value))
    e = math.log10(value)
    n = round((e - lo_exp) / step)
    if n >= 1:
        step = (e - lo_exp) / n
    return w.FloatLogSlider(value=value, min=lo_exp, max=hi_exp, step=step, **kw)


def draw_temperature(z: Any = DEFAULT_SCORES, temperature: float = 1.0):
    """Chapter 2's still: bars of softmax(z / T) beside softmax(z)."""
    z = _scores(z, "draw_temperature")
    f, base = temperature_frame(z, temperature), temperature_frame(z, 1.0)
    fig = _figure(6.4, 3.2)
    ax = fig.add_subplot()
    k = np.arange(z.size)
    ax.bar(k - 0.2, base["p"], width=0.4, color="0.75", label="T = 1")
    ax.bar(k + 0.2, f["p"], width=0.4, color="C0", label=f"T = {temperature:.2f}")
    ax.set_xticks(k, [f"z={v:g}" for v in z])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability")
    ax.set_title(f"softmax(z / T): max p = {f['max_p']:.3f}, "
                 f"entropy = {f['entropy']:.3f} nats (ln K = {np.log(z.size):.3f})",
                 fontsize=10)
    ax.legend(loc="upper right", frameon=False)
    return fig


def temperature_explorer(z: Any = DEFAULT_SCORES, *, temperature: float = 1.0,
                         t_min: float = 0.05, t_max: float = 20.0) -> None:
    """Show softmax(z / T) with a slider for T (chapter 2).

    Draws the figure at `temperature` (the still), then a logarithmic slider
    from `t_min` to `t_max` (its step about 0.01 in log10 T, adjusted so
    that `temperature` is on the slider's grid); moving it redraws the figure.  See
    :func:`temperature_frame` for the numbers.
    """
    w = _require_widgets("temperature_explorer")
    from IPython.display import display
    z = _scores(z, "temperature_explorer")
    slider = _log_slider(w, "temperature_explorer", "temperature", temperature,
                         math.log10(t_min), math.log10(t_max), 0.01,
                         description="T", readout_format=".2f", continuous_update=True)
    live = _Live(lambda: draw_temperature(z, slider.value))
    slider.observe(live.redraw, names="value")
    display(slider)


def draw_label_smoothing(z: Any = DEFAULT_SCORES, y: int = 0, epsilon: float = 0.1):
    """Chapter 3's still: target q, prediction p and gradient p - q; loss against ε."""
    f = label_smoothing_frame(z, y, epsilon)
    z = np.asarray(z, dtype=np.float64)
    fig = _figure(8.0, 3.2)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    k = np.arange(z.size)
    ax.bar(k - 0.27, f["target"], width=0.27, color="C2", label="target q")
    ax.bar(k, f["p"], width=0.27, color="C0", label="softmax p")
    ax.bar(k + 0.27, f["grad"], width=0.27, color="C3", label="gradient p - q")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(k, [f"class {j}" + (" (y)" if j == y else "") for j in k])
    ax.set_ylim(-1.05, 1.25)
    ax.legend(loc="upper right", frameon=False, fontsize=8, ncols=3)
    ax.set_title(f"ε = {epsilon:.2f}: loss = {f['loss']:.4f}", fontsize=10)
    eps = np.linspace(0, 1, 101)
    losses = [label_smoothing_frame(z, y, e)["loss"] for e in eps]
    ax2.plot(eps, losses, color="C0")
    ax2.plot([epsilon], [f["loss"]], "o", color="C3")
    ax2.set_xlabel("ε")
    ax2.set_ylabel("loss")
    ax2.set_title("loss against ε (same scores)", fontsize=10)
    return fig


def label_smoothing_explorer(z: Any = DEFAULT_SCORES, y: int = 0, *,
                             epsilon: float = 0.1) -> None:
    """Show the smoothed target, the loss and its gradient with a slider for ε (chapter 3).

    See :func:`label_smoothing_frame` for the numbers.
    """
    w = _require_widgets("label_smoothing_explorer")
    from IPython.display import display
    label_smoothing_frame(z, y, epsilon)  # validates before drawing
    slider = w.FloatSlider(value=epsilon, min=0.0, max=1.0, step=0.01,
                           description="ε", readout_format=".2f")
    live = _Live(lambda: draw_label_smoothing(z, y, slider.value))
    slider.observe(live.redraw, names="value")
    display(slider)


class _Classifier:
    """State of chapter 4's demo: parameters, data and the loss history."""

    def __init__(self, n_per_class: int, k: int, seed: int):
        self.X, self.y = blobs(n_per_class, k, seed=seed)
        self.seed, self.k = seed, k
        self.reset()

    def reset(self) -> None:
        rng = np.random.default_rng(self.seed + 1)
        self.W = 0.5 * rng.standard_normal((2, self.k))
        self.b = np.zeros(self.k)
        self.history: list[tuple[float, float]] = []

    def step(self, n: int, **opts) -> dict:
        s = {}
        for _ in range(n):
            s = linear_classifier_step(self.W, self.b, self.X, self.y, **opts)
            self.W, self.b = s["W"], s["b"]
            self.history.append((s["data_loss"], s["reg_loss"]))
        return s

    def draw(self, **opts):
        now = linear_classifier_step(self.W, self.b, self.X, self.y, **opts)
        fig = _figure(8.4, 3.6)
        ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.2])
        xx, yy, lab = decision_regions(self.W, self.b)
        cmap = _class_colours(self.k)
        ax.contourf(xx, yy, lab, levels=np.arange(self.k + 1) - 0.5,
                    cmap=cmap, alpha=0.25)
        ax.scatter(self.X[:, 0], self.X[:, 1], c=self.y, cmap=cmap,
                   vmin=-0.5, vmax=self.k - 0.5, edgecolors="k", s=28)
        ax.set_aspect("equal")
        ax.set_title(f"{opts['loss']}: accuracy {now['accuracy']:.2f}", fontsize=10)
        steps = np.arange(len(self.history))
        if self.history:
            h = np.array(self.history)
            ax2.plot(steps, h.sum(axis=1), color="C0", label="total")
            ax2.plot(steps, h[:, 0], color="C1", lw=1, label="data")
            ax2.plot(steps, h[:, 1], color="C2", lw=1, label="weight decay")
            ax2.legend(loc="upper right", frameon=False, fontsize=8)
        ax2.set_xlabel("SGD step")
        ax2.set_ylabel("loss")
        ax2.set_title(f"loss now {now['loss']:.4f} (data {now['data_loss']:.4f}"
                      f" + λ/2‖W‖² {now['reg_loss']:.4f})", fontsize=10)
        return fig


def _class_colours(k: int):
    from matplotlib.colors import ListedColormap
    return ListedColormap([f"C{j}" for j in range(k)])


def linear_classifier_demo(*, loss: str = "softmax", margin: float = 1.0,
                           weight_decay: float = 1e-3, learning_rate: float = 0.5,
                           n_per_class: int = 12, k: int = 3, seed: int = 0,
                           warmup_steps: int = 20) -> None:
    """A 2-D linear classifier to train by hand, in the spirit of CS231n's demo (chapter 4).

    Points of `k` classes (:func:`blobs`), a linear classifier that starts
    from small random weights, and controls: the loss (softmax cross-entropy
    or multiclass hinge), the margin Δ, the weight decay λ, the learning rate,
    and buttons that take 1 or 10 full-batch SGD steps
    (:func:`linear_classifier_step`) or reset.  The left panel shows the
    decision regions, the right one the loss (data + weight decay) per step.
    The still is drawn after `warmup_steps` steps at the default settings.
    `weight_decay` and `learning_rate` must be > 0 (their sliders are
    logarithmic).
    """
    w = _require_widgets("linear_classifier_demo")
    from IPython.display import display
    state = _Classifier(n_per_class, k, seed)
    c_loss = w.ToggleButtons(options=list(LOSSES), value=loss, description="loss")
    c_margin = w.FloatSlider(value=margin, min=0.0, max=3.0, step=0.1,
                             description="margin Δ")
    c_decay = _log_slider(w, "linear_classifier_demo", "weight_decay", weight_decay,
                          -4, 0, 0.1, description="λ", readout_format=".0e")
    c_lr = _log_slider(w, "linear_classifier_demo", "learning_rate", learning_rate,
                       -2, 0.5, 0.1, description="η", readout_format=".2f")

    def opts() -> dict:
        return {"loss": c_loss.value, "margin": c_margin.value,
                "weight_decay": c_decay.value, "learning_rate": c_lr.value}

    state.step(warmup_steps, **opts())
    live = _Live(lambda: state.draw(**opts()))

    def stepper(n: int):
        def click(_button) -> None:
            state.step(n, **opts())
            live.redraw()
        return click

    def reset(_button) -> None:
        state.reset()
        live.redraw()

    buttons = []
    for text, action in (("1 step", stepper(1)), ("10 steps", stepper(10)),
                         ("reset", reset)):
        b = w.Button(description=text)
        b.on_click(action)
        buttons.append(b)
    for c in (c_loss, c_margin, c_decay, c_lr):
        c.observe(live.redraw, names="value")
    display(w.VBox([w.HBox([c_loss]), w.HBox([c_margin, c_decay, c_lr]),
                    w.HBox(buttons)]))
