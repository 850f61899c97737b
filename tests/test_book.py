"""The book: strict build, built pages, and the notebooks behind them.

Three groups of checks:

* the strict build (``tools/build_book.py``: ``jupyter-book build -W -n
  --keep-going``) exits 0 without a single warning; it runs once per session
  into a temporary folder (the ``built_book`` fixture);
* the built HTML: every page of ``_toc.yml`` is there; chapter pages carry math
  markup and load MathJax from a local file that exists; every image is a local
  file that exists; nothing is loaded from the network; no output cell shows a
  traceback, a ``NameError``, an error on stderr, or a ``nan``;
* the notebooks themselves: ``book/*.ipynb`` and ``_toc.yml`` list the same
  files; kernelspec ``python3``; every code cell executed, in order, with no
  error output.

Deliberate exceptions are marked in the notebook, by cell tags, so that they are
visible where they happen:

* ``raises-exception`` (nbval's tag): the cell is meant to raise; its traceback
  may be shown;
* ``expect-nan``: the cell is meant to print ``nan`` (for example the naive
  softmax overflowing).  A whole page may be allowed in ``NAN_ALLOWED_PAGES``.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"
BUILD_SCRIPT = ROOT / "tools" / "build_book.py"

#: Pages (toc paths without suffix) where ``nan`` may appear in any output,
#: with the reason.  Prefer the per-cell tag ``expect-nan``.
NAN_ALLOWED_PAGES: dict[str, str] = {}

#: Public names (in a module's ``__all__``) that the API page cannot show yet
#: because they have no docstring (autodoc skips them silently).  Remove a name
#: once it is documented: the test fails while a listed name is on the page.
KNOWN_UNDOCUMENTED: set[str] = set()

TAG_RAISES = "raises-exception"
TAG_NAN = "expect-nan"
NAN_RE = re.compile(r"\bnan\b", re.IGNORECASE)
ERROR_NAME_RE = re.compile(r"\b[A-Z]\w*Error\b")
TRACEBACK_TEXT = "Traceback (most recent call last)"


# --------------------------------------------------------------------------
# The table of contents
# --------------------------------------------------------------------------

def _toc_entries(node) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                out.append(str(node[key]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                out.extend(_toc_entries(child))
    return out


def toc_files() -> list[str]:
    """Every page of ``_toc.yml``, as written there (no suffix), root first."""
    return _toc_entries(yaml.safe_load(TOC.read_text(encoding="utf-8")))


def source_of(entry: str) -> Path:
    """The source file of a toc entry; fails the test if there is none or two."""
    stem = ROOT / entry
    candidates = [p for p in (stem.with_suffix(".ipynb"), stem.with_suffix(".md"))
                  if p.is_file()] if stem.suffix == "" else [stem]
    assert len(candidates) == 1, (
        f"_toc.yml lists {entry!r}: expected exactly one of {entry}.ipynb / {entry}.md, "
        f"found {[str(c.relative_to(ROOT)) for c in candidates]}"
    )
    return candidates[0]


def notebook_pages() -> list[str]:
    """Toc entries whose source is a notebook: the chapters."""
    return [e for e in toc_files()
            if (ROOT / e).with_suffix(".ipynb").is_file()]


def book_notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


# --------------------------------------------------------------------------
# The build (once per session)
# --------------------------------------------------------------------------

class Build:
    def __init__(self, returncode: int, log: str, html: Path):
        self.returncode = returncode
        self.log = log
        self.html = html

    def page(self, entry: str) -> Path:
        return self.html / (Path(entry).with_suffix("").as_posix() + ".html")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Build:
    out = tmp_path_factory.mktemp("book_build")
    res = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--path-output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    return Build(res.returncode, res.stdout + res.stderr, out / "_build" / "html")


@pytest.fixture(scope="module")
def html(built_book) -> Build:
    """The built book; skips the HTML checks (the build test fails) if it failed."""
    if not (built_book.html / "index.html").is_file():
        pytest.fail("the book did not build; see test_strict_build_has_no_warnings")
    return built_book


def _tail(text: str, n: int = 60) -> str:
    return "\n".join(text.splitlines()[-n:])


@pytest.mark.slow
def test_strict_build_has_no_warnings(built_book):
    warnings = [ln for ln in built_book.log.splitlines()
                if "WARNING" in ln or "ERROR" in ln or "CRITICAL" in ln]
    assert built_book.returncode == 0, (
        f"strict build failed (exit {built_book.returncode}):\n"
        + "\n".join(warnings) + "\n---\n" + _tail(built_book.log)
    )
    assert not warnings, "build printed warnings:\n" + "\n".join(warnings)
    assert (built_book.html / "index.html").is_file()


# --------------------------------------------------------------------------
# The built HTML
# --------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr"}


class PageScan(HTMLParser):
    """Collect scripts, images, math markup and output-cell text of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, list[str]]] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.images: list[str] = []
        self.math_nodes = 0
        # one record per output block: {"kind", "tags", "text"}
        self.outputs: list[dict] = []
        self._current: dict | None = None
        self._current_depth = -1

    def _cell_tags(self) -> set[str]:
        for _tag, classes in reversed(self.stack):
            if "cell" in classes:
                return {c[len("tag_"):] for c in classes if c.startswith("tag_")}
        return set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "link" and "stylesheet" in (a.get("rel") or ""):
            self.stylesheets.append(a.get("href") or "")
        if tag == "img":
            self.images.append(a.get("src") or "")
        if "math" in classes:
            self.math_nodes += 1
        if tag in VOID:
            return
        self.stack.append((tag, classes))
        if self._current is None and "output" in classes and any(
                p[1] and "cell_output" in p[1] for p in self.stack[:-1]):
            kind = next((k for k in ("traceback", "stderr", "stream", "text_plain",
                                     "text_html") if k in classes), "other")
            self._current = {"kind": kind, "tags": self._cell_tags(), "text": []}
            self._current_depth = len(self.stack)
            self.outputs.append(self._current)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # tolerate unbalanced HTML: pop to the matching tag
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        if self._current is not None and len(self.stack) < self._current_depth:
            self._current["text"] = "".join(self._current["text"])
            self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self._current["text"].append(data)


def scan(page: Path) -> PageScan:
    s = PageScan()
    s.feed(page.read_text(encoding="utf-8"))
    s.close()
    for rec in s.outputs:
        if isinstance(rec["text"], list):
            rec["text"] = "".join(rec["text"])
    return s


def local_target(page: Path, url: str) -> Path | None:
    """The file a relative URL on *page* points to (None for data: URLs)."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return None
    return (page.parent / unquote(parts.path)).resolve()


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


@pytest.mark.slow
@pytest.mark.parametrize("entry", toc_files())
def test_toc_page_was_built(html, entry):
    assert html.page(entry).is_file(), (
        f"{entry} is in _toc.yml but {html.page(entry).relative_to(html.html)} was not built"
    )


@pytest.mark.slow
@pytest.mark.parametrize("entry", toc_files())
def test_page_loads_nothing_from_the_network(html, entry):
    s = scan(html.page(entry))
    remote = [u for u in s.scripts + s.stylesheets + s.images if is_remote(u)]
    assert not remote, f"{entry}: the page loads from the network: {remote}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", notebook_pages())
def test_chapter_has_math_and_local_mathjax(html, entry):
    page = html.page(entry)
    s = scan(page)
    text = page.read_text(encoding="utf-8")
    assert s.math_nodes > 0 or "\\(" in text, f"{entry}: no math markup on the page"
    mathjax = [u for u in s.scripts if "tex-mml-chtml.js" in u]
    assert len(mathjax) == 1, f"{entry}: expected one MathJax script, found {mathjax}"
    target = local_target(page, mathjax[0])
    assert target is not None and target.is_file(), (
        f"{entry}: MathJax script {mathjax[0]!r} resolves to {target}, which does not exist"
    )
    assert html.html.resolve() in target.parents, f"{entry}: MathJax outside the build"
    fonts = target.parent / "output" / "chtml" / "fonts" / "woff-v2"
    ext = target.parent / "input" / "tex" / "extensions"
    assert any(fonts.glob("*.woff")), f"no MathJax fonts in {fonts}"
    assert any(ext.rglob("*.js")), f"no MathJax TeX extensions in {ext}"


@pytest.mark.slow
def test_landing_page_has_math_and_bridle_citation(html):
    entry = toc_files()[0]
    page = html.page(entry)
    s = scan(page)
    assert s.math_nodes > 0, "the landing page has no math"
    assert "Bridle" in page.read_text(encoding="utf-8"), "the Bridle 1990 citation is missing"


@pytest.mark.slow
@pytest.mark.parametrize("entry", toc_files())
def test_images_exist(html, entry):
    page = html.page(entry)
    s = scan(page)
    missing = []
    for src in s.images:
        if is_remote(src):
            continue  # reported by test_page_loads_nothing_from_the_network
        target = local_target(page, src)
        if target is not None and not target.is_file():
            missing.append(src)
    assert not missing, f"{entry}: images whose files are missing: {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", notebook_pages())
def test_outputs_show_no_error_or_nan(html, entry):
    s = scan(html.page(entry))
    problems = []
    for rec in s.outputs:
        text, kind, tags = rec["text"], rec["kind"], rec["tags"]
        snippet = text.strip()[:300]
        if TAG_RAISES not in tags:
            if kind == "traceback" or TRACEBACK_TEXT in text:
                problems.append(f"traceback in a cell not tagged {TAG_RAISES!r}: {snippet}")
            elif kind == "stderr" and ERROR_NAME_RE.search(text):
                problems.append(f"error on stderr: {snippet}")
        if "NameError" in text:
            problems.append(f"NameError: {snippet}")
        if (NAN_RE.search(text) and TAG_NAN not in tags
                and Path(entry).with_suffix("").as_posix() not in NAN_ALLOWED_PAGES):
            problems.append(f"nan in an output not tagged {TAG_NAN!r}: {snippet}")
    assert not problems, f"{entry}:\n" + "\n".join(problems)


#: A Markdown table that was not parsed shows up as a paragraph of pipes (for
#: example a ``display(Markdown(table))`` output without the cell metadata
#: ``mystnb: {markdown_format: myst}``: myst-nb renders outputs as CommonMark,
#: which has no tables).
RAW_TABLE_RE = re.compile(r"<p>\|[^<]*\|\s*\n?\|[:\u2014-]", re.S)


@pytest.mark.slow
@pytest.mark.parametrize("entry", toc_files())
def test_markdown_tables_are_rendered_as_tables(html, entry):
    text = html.page(entry).read_text(encoding="utf-8")
    raw = [m.group(0)[:120] for m in RAW_TABLE_RE.finditer(text)]
    assert not raw, f"{entry}: Markdown tables shown as raw text: {raw}"


def api_modules() -> list[str]:
    """Modules documented with ``.. automodule:: X`` + ``:members:`` in book/api.md
    (outside HTML comments)."""
    text = re.sub(r"<!--.*?-->", "", (BOOK / "api.md").read_text(encoding="utf-8"),
                  flags=re.S)
    blocks = re.findall(r"^\.\. automodule:: +([\w.]+)\n((?:[ \t]+:.*\n)*)", text,
                        flags=re.M)
    return [name for name, options in blocks if re.search(r":members:", options)]


@pytest.mark.slow
@pytest.mark.parametrize("modname", api_modules())
def test_api_page_documents_every_public_name(html, modname):
    """autodoc skips members without a docstring, silently: catch that here."""
    mod = importlib.import_module(modname)
    public = getattr(mod, "__all__", None)
    assert public, f"{modname} has no __all__"
    text = html.page("book/api").read_text(encoding="utf-8")
    missing, unexpectedly_there = [], []
    # With __all__, autodoc documents every listed name (re-exported ones too)
    # under this module's name.
    for name in public:
        full = f"{modname}.{name}"
        on_page = f'id="{full}"' in text
        if full in KNOWN_UNDOCUMENTED:
            if on_page:
                unexpectedly_there.append(full)
        elif not on_page:
            missing.append(full)
    assert not missing, (
        f"not on the API page (no docstring? __doc__ is None?): {missing}")
    assert not unexpectedly_there, (
        f"now documented; remove from KNOWN_UNDOCUMENTED: {unexpectedly_there}")


# --------------------------------------------------------------------------
# The notebooks (no build needed)
# --------------------------------------------------------------------------

def test_toc_and_book_notebooks_agree():
    entries = toc_files()
    assert entries, "_toc.yml lists no pages"
    assert len(entries) == len(set(entries)), f"_toc.yml lists a page twice: {entries}"
    sources = [source_of(e) for e in entries]
    listed_nbs = {p.resolve() for p in sources if p.suffix == ".ipynb"}
    on_disk = {p.resolve() for p in book_notebooks()}
    unlisted = sorted(str(p.relative_to(ROOT)) for p in on_disk - listed_nbs)
    assert not unlisted, f"notebooks under book/ missing from _toc.yml: {unlisted}"
    assert listed_nbs <= on_disk


@pytest.mark.parametrize("path", book_notebooks(),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_executed_cleanly(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernelspec {kernel!r}, expected 'python3'"
    counts = []
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        tags = set(cell.metadata.get("tags", []))
        assert cell.execution_count is not None, (
            f"{path.name}: code cell {i} was never executed (store its outputs: "
            "run the whole notebook before committing)"
        )
        counts.append(cell.execution_count)
        if TAG_RAISES not in tags:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, (
                f"{path.name}: code cell {i} has an error output "
                f"({errors[0].get('ename')}: {errors[0].get('evalue')}); "
                f"tag it {TAG_RAISES!r} if the error is the point"
            )
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: cells were executed out of order ({counts}); "
        "restart the kernel and run all cells"
    )


def _figure_outputs(entry: str) -> int:
    """Image outputs of the notebook behind *entry* that the build shows."""
    nb = nbformat.read(ROOT / f"{entry}.ipynb", as_version=4)
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        if tags & {"remove-cell", "remove-output"}:
            continue
        n += sum(1 for o in cell.get("outputs", [])
                 if any(k.startswith("image/") for k in o.get("data", {})))
    return n


@pytest.mark.slow
@pytest.mark.parametrize("entry", notebook_pages())
def test_chapter_page_shows_its_figures(html, entry):
    """Every figure a chapter's notebook made is on its page, and every chapter has one."""
    expected = _figure_outputs(entry)
    assert expected >= 1, f"{entry}: the notebook has no figure"
    shown = [src for src in scan(html.page(entry)).images if "_images/" in src]
    assert len(shown) >= expected, (
        f"{entry}: the notebook has {expected} figure outputs but the page shows "
        f"{len(shown)} images from _images/")


# --------------------------------------------------------------------------
# The site (issue 11, section 5; issue 13): titles, code width, lite links
# --------------------------------------------------------------------------

RAW_LATEX_RE = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$")
MAX_CODE_LINE = 79
URL_RE = re.compile(r"https?://")


def _titles_in(html_text: str) -> list[str]:
    return re.findall(r"<title>(.*?)</title>", html_text, flags=re.S)


def _sidebar_texts(html_text: str) -> list[str]:
    m = re.search(r'<nav class="bd-links[^"]*"[^>]*>(.*?)</nav>', html_text, flags=re.S)
    if not m:
        return []
    return [re.sub(r"<[^>]+>", "", t).strip()
            for t in re.findall(r"<a [^>]*>(.*?)</a>", m.group(1), flags=re.S)]


@pytest.mark.slow
@pytest.mark.parametrize("entry", toc_files())
def test_no_raw_latex_in_page_title_or_sidebar(html, entry):
    text = html.page(entry).read_text(encoding="utf-8")
    bad = [t for t in _titles_in(text) + _sidebar_texts(text) if RAW_LATEX_RE.search(t)]
    assert not bad, f"{entry}: raw LaTeX in the tab title or the sidebar: {bad}"


@pytest.mark.slow
def test_no_raw_latex_in_search_index_or_genindex(html):
    raw = (html.html / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    titles = list(index.get("titles", [])) + [
        t for entries in index.get("alltitles", {}) for t in [entries]]
    bad = [t for t in titles if RAW_LATEX_RE.search(t)]
    gen = html.html / "genindex.html"
    if gen.is_file():
        body = re.sub(r"<script.*?</script>", "", gen.read_text(encoding="utf-8"),
                      flags=re.S)
        main = re.search(r'<main[^>]*>(.*?)</main>', body, flags=re.S)
        words = re.sub(r"<[^>]+>", " ", main.group(1) if main else body)
        bad += [ln.strip() for ln in words.splitlines() if RAW_LATEX_RE.search(ln)]
    assert not bad, f"raw LaTeX in the search index titles or the genindex: {bad}"


@pytest.mark.parametrize("path", book_notebooks(),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_code_lines_fit_79_columns(path):
    nb = nbformat.read(path, as_version=4)
    long = []
    for i, cell in enumerate(nb.cells, start=1):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type != "code" or tags & {"remove-cell", "remove-input"}:
            continue  # not on the page (the solution checks behind the exercises)
        for j, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > MAX_CODE_LINE and not URL_RE.search(line):
                long.append(f"cell {i} line {j} ({len(line)} chars): {line[:60]}...")
    assert not long, (f"{path.name}: code lines over {MAX_CODE_LINE} characters "
                      "(cut off on the page):\n" + "\n".join(long))


LITE_LINK_RE = re.compile(r'href="([^"]*lite/lab/index\.html\?path=([^"&]+))"')


@pytest.mark.slow
@pytest.mark.parametrize("entry", notebook_pages())
def test_chapter_page_links_its_notebook_in_the_lite_site(html, entry):
    page = html.page(entry)
    links = LITE_LINK_RE.findall(page.read_text(encoding="utf-8"))
    assert links, f"{entry}: no JupyterLite launch link on the page"
    want = f"{Path(entry).with_suffix('').as_posix()}.ipynb"
    for href, path in links:
        assert path == want, f"{entry}: the launch link opens {path!r}, not {want!r}"
        app = local_target(page, href.split("?")[0])
        assert app is not None and app.is_file(), f"{entry}: {href} has no lite app"
        assert (html.html / "lite" / "files" / path).is_file(), (
            f"{entry}: the lite site has no lite/files/{path}")


@pytest.mark.slow
def test_chapter_download_button_offers_the_notebook(html):
    for entry in notebook_pages():
        page = html.page(entry)
        hrefs = re.findall(r'href="([^"]+\.ipynb)"', page.read_text(encoding="utf-8"))
        files = [local_target(page, h) for h in hrefs if "_sources/" in h]
        assert files and all(f.is_file() for f in files), (
            f"{entry}: no downloadable .ipynb under _sources/ ({hrefs})")


@pytest.mark.slow
def test_landing_page_wheel_link_resolves(html):
    page = html.page(toc_files()[0])
    hrefs = re.findall(r'href="([^"]*wheels/softmaxlab-[^"]+\.whl)"',
                       page.read_text(encoding="utf-8"))
    assert hrefs, "the landing page does not link wheels/softmaxlab-<version>-...whl"
    for h in hrefs:
        target = local_target(page, h)
        assert target is not None and target.is_file(), f"{h} resolves to {target}: missing"
        assert target.parent == (html.html / "wheels").resolve()


@pytest.mark.slow
def test_lite_site_is_built_with_softmaxlab_in_the_kernel_lock(html):
    lock = json.loads((html.html / "lite" / "static" / "pyodide" / "pyodide-lock.json")
                      .read_text(encoding="utf-8"))
    sml = lock["packages"]["softmaxlab"]
    assert {"numpy", "array-api-compat", "scikit-learn"} <= set(sml["depends"])
    assert (html.html / "lite" / "static" / "pyodide" / sml["file_name"]).is_file()
    assert "comm" in lock["packages"] and "ipywidgets" in lock["packages"]
    settings = json.loads((html.html / "lite" / "jupyter-lite.json").read_text())
    kernel = settings["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
