"""The book's JupyterLite site in a real browser: every chapter runs, nothing leaves the site.

The ``site_html`` fixture builds the self-contained book (``tools/build_book.py
--lite offline``) once, serves it on 127.0.0.1 on an ephemeral port, and opens
it in headless Chromium (Debian's ``chromium``, driven by Playwright from PyPI
with ``executable_path``: no ``playwright install``).  Each test gets a browser
context of its own, the only one open (two JupyterLite pages in one profile
crash the kernel: see ``lite_page``).  Every request that is not for 127.0.0.1
is aborted and recorded; ``test_no_request_left_the_site`` asserts there was
none.

* ``test_chapter_runs_in_the_browser[...]``: every code cell of the chapter,
  in order, in the Pyodide kernel; each cell's outputs compared with the
  stored ones by nbval's rules (streams merged by name; text compared, images
  and widget model ids not; ``NBVAL_SKIP`` / ``NBVAL_IGNORE_OUTPUT`` /
  ``raises-exception`` honoured), the matplotlib font-cache notice aside.
* ``test_landing_console_prints_ln_1000``: the console on the landing page.
* ``test_widgets_render_and_react``: the interactive figures
  (``tests/browser/widgets.ipynb``, put into the browser's file system) draw
  their still and redraw when the temperature slider, the ε slider and the
  demo's "10 steps" button are used.

They run with ``SOFTMAXLAB_BROWSER=1``.  Without chromium, Playwright or the
downloads they skip with the reason; ``SOFTMAXLAB_REQUIRE_BROWSER=1`` turns the
skips into failures.  ``SOFTMAXLAB_BROWSER_SITE=<html dir>`` reuses an existing
self-contained build; ``SOFTMAXLAB_BROWSER_SHOTS=<dir>`` saves screenshots.
Run time per chapter is written to ``<build>/browser-timings.json``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "tools" / "build_book.py"
WIDGETS_NB = ROOT / "tests" / "browser" / "widgets.ipynb"
REQUIRED = os.environ.get("SOFTMAXLAB_REQUIRE_BROWSER") == "1"
CELL_TIMEOUT_S = 300
FONT_CACHE = "Matplotlib is building the font cache; this may take a moment."

pytestmark = pytest.mark.slow

# The whole in-browser run, build included, took 7 minutes on 2 cores (the
# chapters 5.6 of them): it runs when asked, and in CI (.ci/run sets both).
if os.environ.get("SOFTMAXLAB_BROWSER") != "1" and not REQUIRED:
    pytest.skip("the in-browser tests run with SOFTMAXLAB_BROWSER=1 (about 7 minutes)",
                allow_module_level=True)


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (SOFTMAXLAB_REQUIRE_BROWSER=1: required here)")
    pytest.skip(reason)


def chromium_executable() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chapters() -> list[Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_book import notebook_pages
    return [ROOT / f"{e}.ipynb" for e in notebook_pages()]


# --------------------------------------------------------------------------
# nbval's comparison rules
# --------------------------------------------------------------------------

SKIP_KEYS = {"metadata", "traceback", "prompt_number", "output_type", "name",
             "execution_count", "transient", "image/png", "image/jpeg",
             "application/vnd.jupyter.widget-view+json"}


def _text(v) -> str:
    return "".join(v) if isinstance(v, list) else v


def comparable(outputs: list[dict]) -> dict[str, list]:
    """Outputs flattened as nbval compares them: streams merged by name, then
    every key (and every MIME type of ``data``) outside SKIP_KEYS, in order."""
    merged: list[dict] = []
    streams: dict[str, dict] = {}
    for o in outputs:
        o = dict(o)
        if o.get("output_type") == "stream":
            text = _text(o.get("text", ""))
            if o.get("name") == "stderr":
                text = "".join(ln for ln in text.splitlines(keepends=True)
                               if ln.strip() != FONT_CACHE)
            if o["name"] in streams:
                streams[o["name"]]["text"] += text
                continue
            o["text"] = text
            streams[o["name"]] = o
        merged.append(o)
    flat: dict[str, list] = defaultdict(list)
    for o in merged:
        if o.get("output_type") == "stream" and not o["text"]:
            continue
        for key, value in o.items():
            if key in SKIP_KEYS:
                continue
            if key == "data":
                for mime, v in value.items():
                    if mime not in SKIP_KEYS:
                        flat[mime].append(_text(v))
            else:
                flat[key].append(_text(value))
    return dict(flat)


def cell_rule(cell) -> str:
    """'skip', 'ignore' (run, do not compare), 'raises' or 'compare'."""
    tags = set(cell.metadata.get("tags", []))
    first = {ln.strip().lstrip("#").strip() for ln in cell.source.splitlines()
             if ln.strip().startswith("#")}
    if "nbval-skip" in tags or "NBVAL_SKIP" in first:
        return "skip"
    if "raises-exception" in tags or "NBVAL_RAISES_EXCEPTION" in first:
        return "raises"
    if "nbval-ignore-output" in tags or "NBVAL_IGNORE_OUTPUT" in first:
        return "ignore"
    return "compare"


# --------------------------------------------------------------------------
# The site, the server, the browser
# --------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json"}

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def site_html(tmp_path_factory) -> Path:
    given = os.environ.get("SOFTMAXLAB_BROWSER_SITE")
    if given:
        html = Path(given).resolve()
        assert (html / "lite" / "static" / "pyodide" / "pyodide-lock.json").is_file(), (
            f"SOFTMAXLAB_BROWSER_SITE={given} is not a self-contained build")
        return html
    out = tmp_path_factory.mktemp("lite_book")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(BUILD_SCRIPT), "--lite", "offline",
                          "--path-output", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    log = res.stdout + res.stderr
    if res.returncode != 0:
        if "build_lite:" in log and ("npm" in log or "pip" in log or "download" in log):
            _unavailable("the self-contained site could not be prepared (downloads "
                         "missing?):\n" + "\n".join(log.splitlines()[-8:]))
        pytest.fail("the self-contained book did not build:\n"
                    + "\n".join(log.splitlines()[-40:]))
    html = out / "_build" / "html"
    (html / "build-time.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")
    return html


@pytest.fixture(scope="module")
def server(site_html):
    handler = functools.partial(_Handler, directory=str(site_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server):
    """Headless Chromium; ``browser.outside`` collects every aborted request."""
    exe = chromium_executable()
    if exe is None:
        _unavailable("no chromium on the PATH (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        browser.outside = []
        yield browser
        browser.close()


@pytest.fixture
def lite_page(browser):
    """A page in a browser context of its own, the only one open.

    JupyterLite 0.5's kernel file system (DriveFS) reaches the page through the
    service worker and a ``BroadcastChannel``: with a second JupyterLite page
    open in the same profile, that page answers the kernel's requests too and
    Pyodide dies ("fatal error ... readdir: t.push is not a function",
    jupyterlite/jupyterlite#1243 and #1582).  So every test gets a fresh
    context (its own storage, service worker and channel), closed after it.
    """
    assert not browser.contexts, "another browser context is still open"

    def route(r):
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            browser.outside.append(r.request.url)
            r.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  device_scale_factor=1)
    context.route("**/*", route)
    page = context.new_page()
    page.console_lines = []
    page.on("console", lambda m: page.console_lines.append(f"{m.type}: {m.text[:500]}"))
    page.on("pageerror", lambda e: page.console_lines.append(f"pageerror: {e}"))
    yield page
    context.close()


def console_tail(page, n: int = 25) -> str:
    """The last browser console lines (the kernel's fatal errors land there)."""
    lines = [ln for ln in page.console_lines if "Starting WebSocket" not in ln]
    return "browser console (last lines):\n  " + "\n  ".join(lines[-n:])


def wait_for(page, js: str, what: str, *, arg=None, timeout_s: float = 60) -> None:
    """``page.wait_for_function`` that fails with a screenshot and the console."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        shot(page, "timeout-" + re.sub(r"\W+", "-", what))
        pytest.fail(f"{what}: not within {timeout_s:.0f} s\n{console_tail(page)}")


@pytest.fixture
def lab(lite_page, server):
    """A JupyterLite lab page; kernels are started from a script in it."""
    page = lite_page
    page.goto(f"{server}/lite/lab/index.html", wait_until="load")
    wait_for(page, "window.jupyterapp !== undefined", "the lab app", timeout_s=120)
    page.evaluate("async () => { await window.jupyterapp.serviceManager.ready; "
                  "await window.jupyterapp.restored; }")
    return page


def shot(page, name: str) -> None:
    d = os.environ.get("SOFTMAXLAB_BROWSER_SHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(d) / f"{name}.png"), full_page=False)


START_JS = """async (path) => {
  const app = window.jupyterapp;
  const s = await app.serviceManager.sessions.startNew({
    path, name: path.split('/').pop(), type: 'notebook',
    kernel: {name: 'python'}});
  window.__smlSession = s;
  return s.kernel.id;
}"""

RUN_JS = """async ([code, timeoutMs]) => {
  const k = window.__smlSession.kernel;
  const outs = [];
  const fut = k.requestExecute({code, stop_on_error: false});
  fut.onIOPub = (msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'stream') outs.push({output_type: 'stream', name: c.name, text: c.text});
    else if (t === 'execute_result' || t === 'display_data')
      outs.push({output_type: t, data: c.data});
    else if (t === 'error')
      outs.push({output_type: 'error', ename: c.ename, evalue: c.evalue});
    else if (t === 'clear_output') outs.length = 0;
  };
  const timeout = new Promise((_, rej) =>
    setTimeout(() => rej(new Error('cell timed out')), timeoutMs));
  const reply = await Promise.race([fut.done, timeout]);
  return {outs, status: reply.content.status};
}"""

STOP_JS = "async () => { await window.__smlSession.shutdown(); }"


def _timings_file(site_html: Path) -> Path:
    return site_html / "browser-timings.json"


@pytest.mark.parametrize("nb_path", chapters(), ids=lambda p: p.stem)
def test_chapter_runs_in_the_browser(lab, site_html, nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    rel = nb_path.relative_to(ROOT).as_posix()
    t0 = time.perf_counter()
    lab.evaluate(START_JS, rel)
    failures = []
    try:
        for i, cell in enumerate(nb.cells, start=1):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            rule = cell_rule(cell)
            if rule == "skip":
                continue
            head = cell.source.strip().splitlines()[0][:70]
            try:
                got = lab.evaluate(RUN_JS, [cell.source, CELL_TIMEOUT_S * 1000])
            except Exception as exc:  # the cell timed out, or the kernel died
                failures.append(f"cell {i} ({head!r}): {exc}\n{console_tail(lab)}")
                break
            errors = [o for o in got["outs"] if o["output_type"] == "error"]
            if rule == "raises":
                if not errors:
                    failures.append(f"cell {i} ({head!r}): expected an exception")
                continue
            if errors:
                failures.append(f"cell {i} ({head!r}): {errors[0]['ename']}: "
                                f"{errors[0]['evalue'][:300]}")
                continue
            if rule == "compare":
                want, have = comparable(cell.outputs), comparable(got["outs"])
                if want != have:
                    failures.append(f"cell {i} ({head!r}): stored {want!r}\n"
                                    f"    browser {have!r}")
        if nb_path.stem.startswith("02") and os.environ.get("SOFTMAXLAB_BROWSER_SHOTS"):
            # the chapter as a reader sees it in the lab (its kernel is the
            # one that just ran the cells)
            lab.evaluate("(p) => { window.jupyterapp.commands.execute("
                         "'docmanager:open', {path: p}); }", rel)
            lab.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=60_000)
            lab.wait_for_timeout(3000)
            shot(lab, f"chapter-{nb_path.stem}")
    finally:
        lab.evaluate(STOP_JS)
        dt = time.perf_counter() - t0
        f = _timings_file(site_html)
        timings = json.loads(f.read_text()) if f.is_file() else {}
        timings[nb_path.stem] = {"seconds": round(dt, 1), "failures": len(failures)}
        f.write_text(json.dumps(timings, indent=2))
        print(f"\n{nb_path.stem}: {dt:.1f} s in the browser, {len(failures)} failure(s)")
    assert not failures, f"{rel} in the browser:\n" + "\n".join(failures)


def test_landing_console_prints_ln_1000(lite_page, server):
    page = lite_page
    page.goto(f"{server}/book/intro.html", wait_until="load")
    button = page.locator(".jupyterlite_sphinx_try_it_button").first
    button.click()
    frame = page.frame_locator("iframe").first
    try:
        frame.locator("text=6.907755").first.wait_for(timeout=180_000)
    except Exception:
        shot(page, "timeout-landing-console")
        pytest.fail(f"the landing console did not print ln 1000\n{console_tail(page)}")
    page.locator("iframe").first.scroll_into_view_if_needed()
    shot(page, "landing-console")


#: The still of each figure, by the notebook cell that drew it (the lab's
#: cell widgets, not the page: the lab takes cells out of view off the page, so
#: the page's list of images shifts as it scrolls).
CELL_IMAGES_JS = ("() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => {"
                  " const im = c.node.querySelector('.jp-OutputArea-output img');"
                  " return im ? im.src : null; })")
CHANGED_JS = ("([cell, old]) => { const c = window.jupyterapp.shell.currentWidget"
              ".content.widgets[cell]; const im = c && c.node.querySelector("
              "'.jp-OutputArea-output img'); return im !== null && im.src !== old; }")
IDLE_JS = ("() => { const w = window.jupyterapp.shell.currentWidget; "
           "const k = w && w.sessionContext && w.sessionContext.session "
           "&& w.sessionContext.session.kernel; return k && k.status === 'idle'; }")
KERNEL_PRINT_JS = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const f = k.requestExecute({code, store_history: false});
  f.onIOPub = (m) => { if (m.header.msg_type === 'stream') out += m.content.text; };
  await f.done;
  return out;
}"""
#: The explorers' log sliders (λ, η, T) as the kernel has them, rounded.
LOG_SLIDER_VALUES = (
    "from ipywidgets import FloatLogSlider as _S\n"
    "from ipywidgets.widgets.widget import _instances as _i\n"
    "print(sorted(round(w.value, 9) for w in list(_i.values()) if isinstance(w, _S)))")
#: Cells of tests/browser/widgets.ipynb: 0 text, 1 imports, then the figures.
FIGURE_CELLS = {"temperature": 2, "label smoothing": 3, "demo": 4}


def show_cell(page, cell: int):
    """Scroll the notebook to *cell* (so that the lab puts it on the page); its locator."""
    page.evaluate("async (i) => { await window.jupyterapp.shell.currentWidget"
                  ".content.scrollToItem(i, 'start'); }", cell)
    page.wait_for_timeout(500)
    return page.locator(f".jp-Notebook .jp-Cell[data-windowed-list-index='{cell}']")


def drag_first_slider(page, cell: int, dx: float) -> str:
    """Drag the first slider of *cell* by *dx* pixels, as a reader would; its readout."""
    c = show_cell(page, cell)
    handle = c.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=5)
    page.mouse.up()
    return c.locator(".widget-readout").first.inner_text()


def test_widgets_render_and_react(lab):
    page = lab
    page.set_default_timeout(60_000)
    nb = json.loads(WIDGETS_NB.read_text(encoding="utf-8"))
    # the lite kernel is "python": with "python3" the lab asks for a kernel
    nb["metadata"]["kernelspec"] = {"name": "python", "language": "python",
                                    "display_name": "Python (Pyodide)"}
    page.evaluate("""async (content) => {
      const app = window.jupyterapp;
      await app.serviceManager.contents.save('browser_widgets.ipynb',
        {type: 'notebook', format: 'json', content});
      app.commands.execute('docmanager:open', {path: 'browser_widgets.ipynb'});
    }""", nb)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    wait_for(page, IDLE_JS, "the widget notebook's kernel idle", timeout_s=120)
    # not awaited: the command's promise settles only when every cell has run
    # (never, if the kernel does not start); the waits below are bounded
    page.evaluate("() => { window.jupyterapp.commands.execute("
                  "'notebook:run-all-cells'); }")
    # three explorers: three stills, two sliders + the demo's controls
    wait_for(page, "() => document.querySelectorAll('.jp-OutputArea-output img').length >= 3 "
             "&& document.querySelectorAll('.widget-button').length >= 3",
             "three figures and the demo's buttons", timeout_s=240)
    assert page.locator(".widget-slider, .jupyter-widget-slider").count() >= 5
    wait_for(page, IDLE_JS, "the kernel idle after the figures", timeout_s=120)
    before = page.evaluate(CELL_IMAGES_JS)
    # the stills are at the settings asked for: a log slider whose value was
    # off its grid got the snapped value back from the browser when shown
    # (T = 1 became 0.9976) and redrew at it
    values = page.evaluate(KERNEL_PRINT_JS, LOG_SLIDER_VALUES)
    assert values.strip() == "[0.001, 0.5, 1.0]", (
        f"the log sliders' values in the kernel after display: {values!r}")
    assert all(before[i] for i in FIGURE_CELLS.values()), (
        f"a figure without its still: {[bool(i) for i in before]}")
    shot(page, "widgets-all")
    # chapters 2 and 3: drag the temperature and the ε slider
    for what, dx, readout in (("temperature", 40, "1.00"), ("label smoothing", 30, "0.10")):
        cell = FIGURE_CELLS[what]
        moved = drag_first_slider(page, cell, dx)
        assert moved != readout, f"the {what} slider did not move (readout {moved})"
        wait_for(page, CHANGED_JS, f"the {what} figure redrawn", arg=[cell, before[cell]])
        wait_for(page, IDLE_JS, f"the kernel idle after the {what} slider", timeout_s=120)
        page.wait_for_timeout(500)  # the last redraw's image on the page
        shot(page, f"widgets-{what.replace(' ', '-')}-moved")
    # chapter 4: ten SGD steps redraw the regions and the loss curve
    demo = FIGURE_CELLS["demo"]
    show_cell(page, demo).locator(".widget-button", has_text="10 steps").click()
    wait_for(page, CHANGED_JS, "the demo redrawn after 10 steps", arg=[demo, before[demo]])
    wait_for(page, IDLE_JS, "the kernel idle after 10 steps", timeout_s=120)
    after = page.evaluate(CELL_IMAGES_JS)
    assert all(after[i] != before[i] for i in FIGURE_CELLS.values()), (
        "each figure should have been redrawn in place")
    shot(page, "widgets-after")
    errors = page.locator(".jp-OutputArea-output[data-mime-type="
                          "'application/vnd.jupyter.stderr']").all_inner_texts()
    assert not [e for e in errors if "Error" in e], errors


def test_no_request_left_the_site(browser):
    """Last in the module: every page opened above stayed on 127.0.0.1."""
    assert browser.outside == [], (
        "requests outside the site (aborted): " + "\n".join(browser.outside[:20]))


def test_timings_are_recorded(site_html):
    f = _timings_file(site_html)
    if f.is_file():
        print("\n" + f.read_text())


def test_page_text_mentions_no_remote_host(site_html):
    """Every page's stylesheets/scripts are local (the static twin of the browser check)."""
    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["'](?:https?:)?//""")
    bad = [str(p.relative_to(site_html)) for p in site_html.glob("**/*.html")
           if "lite" not in p.relative_to(site_html).parts[:1]
           and remote.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert not bad, f"pages that load from another host: {bad}"
