"""The documentation builds with warnings as errors, and says what the package is.

The build is the one `make docs` runs (``docs/conf.py``), with nitpicky cross-references
(``-n``) and warnings as errors (``-W --keep-going``, so every problem is listed at once),
the notebook gallery executed afresh on the bundled sample (its own jupyter-cache in a
temporary folder, so a notebook that breaks with the code breaks this test), and every
link inside the built site checked to resolve.
"""

from __future__ import annotations

import html.parser
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import c2c_analysis

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
pytest.importorskip("sphinx", reason="the docs extra (part of the test extra) is not installed")


SPHINX = [
    sys.executable,
    "-m",
    "sphinx",
    "-b",
    "html",
    "-E",
    "-W",
    "--keep-going",
    "-n",
    "-j",
    "auto",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "C2C_DOCS_JUPYTER_CACHE": str(out / "jupyter_cache")}
    result = subprocess.run(
        [*SPHINX, str(DOCS), str(out / "html")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    return result, out / "html"


def test_docs_build_without_warnings(site):
    result, _ = site
    # Sphinx's own messages ("file:line: WARNING: ..."), not the kernels' log lines
    problems = [
        line
        for line in result.stderr.splitlines()
        if ("WARNING:" in line or "ERROR:" in line) and not line.startswith("[IPKernelApp]")
    ]
    assert problems == []
    assert result.returncode == 0, result.stderr[-20000:]


def test_every_public_name_has_an_api_page(site):
    _, html = site
    missing = [
        name
        for name in c2c_analysis.__all__
        if name != "__version__"
        and not (html / "api" / "generated" / f"c2c_analysis.{name}.html").exists()
    ]
    assert missing == []


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if tag in {"a", "img", "link", "script"} and attrs.get(key):
                self.links.append(attrs[key])


def test_every_internal_link_resolves(site):
    _, html = site
    pages = {}
    for page in html.rglob("*.html"):
        if "_static" in page.relative_to(html).parts:
            continue  # the theme's templates, not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(html.resolve())}: {link}")
            elif parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                broken.append(f"{page.relative_to(html.resolve())}: {link} (no such anchor)")
    assert broken == []


def test_gallery_shows_every_notebook_executed_without_errors(site):
    _, html = site
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (html / "gallery" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        assert "cell_output" in page, f"{notebook.name} shows no outputs"
        assert "Traceback" not in page, notebook.name
        assert ("<img" in page) or ("<svg" in page), f"{notebook.name} shows no figure"


def test_notebook_templates_stay_without_outputs(site):
    # the build executes copies in docs/gallery/, never the templates themselves
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        assert all(not c["outputs"] and c["execution_count"] is None for c in code), notebook.name


def test_methods_pages_cover_every_analysis():
    # issue 20: one methods page per analysis, each with its formula, defaults, references
    # and what it was checked against
    pages = {page.stem: page.read_text() for page in (DOCS / "methods").glob("*.md")}
    for name in [
        "trends",
        "gaps",
        "inequality",
        "kitagawa",
        "das-gupta",
        "oaxaca-blinder",
        "spc",
        "funnel",
        "its-scorecard",
        "disclosure",
    ]:
        assert name in pages, name
        text = pages[name]
        for heading in ("## Formula", "## Defaults", "## References", "## Checked against"):
            assert heading in text, f"methods/{name}.md has no {heading!r}"


def test_every_public_function_has_an_example_that_runs_as_a_doctest():
    # pytest runs --doctest-modules on the package, so an Examples section with >>> is run
    missing = []
    for name in c2c_analysis.__all__:
        obj = getattr(c2c_analysis, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            if "Examples\n--------" not in doc or ">>>" not in doc.split("Examples\n--------")[1]:
                missing.append(name)
    assert missing == []


def test_docs_say_the_package_version(site):
    _, html = site
    assert c2c_analysis.__version__ in (html / "cite.html").read_text(encoding="utf-8")
