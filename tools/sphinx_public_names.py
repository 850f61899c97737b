"""Sphinx extension: let ``softmaxlab.NAME`` refer to where NAME is documented.

The API page documents every function under the module that defines it
(``softmaxlab.special.softmax``), which is also how the docstrings refer to each
other.  Chapters and docstrings may also use the public, re-exported name
(``softmaxlab.softmax``).  When such a reference has no target, this resolves it
to the defining module's entry, if that entry exists; otherwise the reference
stays broken and the strict build reports it.
"""

from __future__ import annotations

import importlib

PACKAGE = "softmaxlab"


def _canonical(target: str) -> str | None:
    if not target.startswith(PACKAGE + "."):
        return None
    parts = target.split(".")
    try:
        obj = importlib.import_module(PACKAGE)
        for p in parts[1:]:
            obj = getattr(obj, p)
    except Exception:  # not an attribute path of the package
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or not module.startswith(PACKAGE):
        return None
    canonical = f"{module}.{qualname}"
    return canonical if canonical != target else None


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    canonical = _canonical(target)
    if canonical is None:
        return None
    domain = env.get_domain("py")
    builder = app.builder
    return domain.resolve_xref(env, node.get("refdoc"), builder, node["reftype"],
                               canonical, node, contnode)


def setup(app):
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
