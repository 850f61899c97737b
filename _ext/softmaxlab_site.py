"""Sphinx extension: the book's own JupyterLite button, a site with no outside requests.

Three jobs, each on a Sphinx event:

* ``config-inited``: the repository's address is shown only when the build is
  told it (environment variable ``SOFTMAXLAB_REPOSITORY_URL``, set by
  ``tools/build_book.py --repository-url``).  Defines the MyST substitution
  ``repository_line`` (a sentence with the address, or empty) and, only with
  an address, turns on the theme's repository button.
* ``html-page-context`` (after the theme): every chapter page (a page built
  from a notebook) gets a launch button that opens the chapter's notebook in
  the JupyterLite site built beside the book (``lite/``), with a relative URL,
  so it works wherever the site is served.  No made-up repository address.
* ``html-page-context`` (last): drops every stylesheet and script that is not
  a local file (jupyterlite-sphinx adds Google Fonts; sphinx-thebe adds an
  unpkg script), so that no page makes a request outside the site.
"""

from __future__ import annotations

import os
from typing import Any

from sphinx.application import Sphinx

REPOSITORY_ENV = "SOFTMAXLAB_REPOSITORY_URL"
LITE_APP = "lite/lab/index.html"
#: Folder of the notebooks inside the lite site's file system
#: (``jupyterlite_contents: [book]`` keeps the folder's name).
LITE_CONTENTS = "book"


def repository_line(url: str) -> str:
    """The landing page's sentence about the source (empty without an address)."""
    return f"The source is at <{url}>." if url else ""


def _set_repository(app: Sphinx, config) -> None:
    url = os.environ.get(REPOSITORY_ENV, "").strip()
    subs = dict(getattr(config, "myst_substitutions", None) or {})
    subs["repository_line"] = repository_line(url)
    config.myst_substitutions = subs
    if url:
        opts = dict(config.html_theme_options or {})
        opts["repository_url"] = url
        opts["use_repository_button"] = True
        config.html_theme_options = opts


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _loads_remote(asset) -> bool:
    """True for a remote file, or an inline script naming a remote file
    (sphinx-thebe's ``THEBE_JS_URL``: thebe is off, so it is never used)."""
    if _is_remote(str(getattr(asset, "filename", asset) or "")):
        return True
    body = (getattr(asset, "attributes", None) or {}).get("body") or ""
    return "https://" in body or "http://" in body


def _drop_remote_assets(app: Sphinx, pagename: str, templatename: str,
                        context: dict[str, Any], doctree) -> None:
    for key in ("css_files", "script_files"):
        files = context.get(key)
        if files is None:
            continue
        context[key] = [f for f in files if not _loads_remote(f)]


def lite_notebook_url(pagename: str, pathto) -> str:
    """Relative URL that opens the notebook of *pagename* in the lite site."""
    path = pagename
    if path.startswith(LITE_CONTENTS + "/"):
        path = path[len(LITE_CONTENTS) + 1:]
    return f"{pathto(LITE_APP, 1)}?path={LITE_CONTENTS}/{path}.ipynb"


def _add_lite_button(app: Sphinx, pagename: str, templatename: str,
                     context: dict[str, Any], doctree) -> None:
    if doctree is None or "header_buttons" not in context:
        return
    source = app.env.doc2path(pagename)
    if not str(source).endswith(".ipynb"):
        return
    context["header_buttons"].append({
        "type": "group",
        "tooltip": "Run this chapter in your browser",
        "icon": "fas fa-rocket",
        "label": "launch-buttons",
        "buttons": [{
            "type": "link",
            "text": "JupyterLite",
            "tooltip": "Open this chapter's notebook in JupyterLite (runs in "
                       "your browser; nothing to install)",
            "icon": "_static/images/logo_jupyterlite.svg",
            "url": lite_notebook_url(pagename, context["pathto"]),
        }],
    })


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _set_repository)
    # the theme fills header_buttons at priority 501; add ours after it
    app.connect("html-page-context", _add_lite_button, priority=502)
    app.connect("html-page-context", _drop_remote_assets, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
