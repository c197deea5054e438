"""Sphinx configuration of the c2c_analysis documentation (``make docs``).

The API reference is generated from ``c2c_analysis.__all__`` on every build
(:func:`_write_api_index`), so a public name cannot be left out of it. The notebook
gallery is the templates of ``notebooks/`` copied in at build time and executed by
MyST-NB on the bundled sample, with jupyter-cache keeping the executed copies until a
notebook changes. The notebooks in ``notebooks/`` stay without outputs.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path

from sphinx.util import logging

import c2c_analysis

logger = logging.getLogger(__name__)
_PROBLEMS: list[str] = []  # found while writing the API pages; warnings (errors under -W)

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "c2c_analysis"
author = "The c2c_analysis developers"
copyright = "the c2c_analysis developers, BSD-3-Clause"
version = release = c2c_analysis.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path: list[str] = []

# Warnings are errors in the test suite (-W -n); these targets have no documentation to
# link to here (the build is offline: no intersphinx).
nitpicky = True
_EXTERNAL = r"(pd|pandas|np|numpy|matplotlib|mpl|plt|dask|scipy|statsmodels|seaborn|sns|papermill)"
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL + r"\..*"),
    (r"py:(class|obj)", r"(Axes|Figure|DataFrame|Series|Timestamp|Path|PathLike|Callable)"),
    (r"py:(class|obj)", r"(optional|default|or|of|array-like|array_like|mapping|sequence)"),
    (r"py:(class|obj)", r"(str|int|float|bool|dict|list|tuple|set|None|bytes|object|type)"),
    (r"py:(class|obj)", r"(typing|collections\.abc|os|pathlib|datetime)\..*"),
]

autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters give the types, in words
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist", "substitution"]
myst_substitutions = {"version": release}
myst_heading_anchors = 3

# The gallery: executed on the bundled sample, once per change of a notebook. The kernels
# inherit this process's environment; a headless MPLBACKEND=Agg (as the test suite sets)
# would make every figure disappear from the gallery, as it would from a report.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
nb_execution_mode = os.environ.get("C2C_DOCS_EXECUTE", "cache")
nb_execution_cache_path = os.environ.get(
    "C2C_DOCS_JUPYTER_CACHE", str(DOCS / "_build" / ".jupyter_cache")
)
nb_execution_timeout = int(os.environ.get("C2C_DOCS_TIMEOUT", "600"))
nb_execution_raise_on_error = False  # a failing notebook is a warning: an error under -W
nb_execution_show_tb = True
nb_merge_streams = True
nb_kernel_rgx_aliases = {".*": "python3"}

html_theme = "pydata_sphinx_theme"
html_title = f"c2c_analysis {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_last_updated_fmt = None
html_copy_source = False

# One section of the API page per module (in the order of the design's picture); a module
# missing from this map still gets its section, named after the module.
_SECTIONS = {
    "c2c_analysis.io": "Reading data",
    "c2c_analysis.datasets": "Sample data",
    "c2c_analysis.schema": "The canonical table and the outcome catalogue",
    "c2c_analysis.validation": "Validation",
    "c2c_analysis.privacy": "Disclosure control",
    "c2c_analysis.audit": "Disclosure control",
    "c2c_analysis.trends": "Trends and baselines",
    "c2c_analysis.overview": "Trends and baselines",
    "c2c_analysis.equity": "Gaps and inequality",
    "c2c_analysis.decompose": "Decompositions",
    "c2c_analysis.spc": "Run charts, control charts and funnel plots",
    "c2c_analysis.portfolio": "Strategies against their baselines",
    "c2c_analysis.report": "Reports",
}


def _section(name: str) -> str:
    obj = getattr(c2c_analysis, name)
    if inspect.isclass(obj) or inspect.isroutine(obj):
        module = obj.__module__
    else:  # a constant: the module whose __all__ lists it
        module = next(
            (
                m
                for m, mod in sorted(sys.modules.items())
                if m.startswith("c2c_analysis.")
                and name in getattr(mod, "__all__", ())
                and getattr(mod, name, None) is obj
            ),
            "c2c_analysis",
        )
    for prefix in sorted(_SECTIONS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return _SECTIONS[prefix]
    return f"``{module}``"


def _write_api_index() -> None:
    names = [n for n in c2c_analysis.__all__ if n != "__version__"]
    sections: dict[str, list[str]] = {}
    for name in names:
        sections.setdefault(_section(name), []).append(name)
    order = list(dict.fromkeys(_SECTIONS.values()))
    titles = sorted(sections, key=lambda t: (order.index(t) if t in order else len(order), t))
    lines = [
        ".. This page is written by docs/conf.py from c2c_analysis.__all__ on every build.",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of ``c2c_analysis`` (its ``__all__``), generated from the",
        "docstrings: parameters, every returned column, the formula, references and an",
        "example that runs as a doctest. The package version is ``c2c_analysis.__version__``",
        "(this build: |release|). Conventions and parameter names: :doc:`/conventions`.",
        "",
        ".. currentmodule:: c2c_analysis",
        "",
    ]
    for title in titles:
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in sections[title]]
        lines.append("")
    modules = _public_modules()
    lines += [
        "Modules",
        "-------",
        "",
        "Each module's purpose, and the public names it does not re-export at the top level",
        "(plotting, the report runner, reading recipes, constants of the schema).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    lines += [f"   modules/{name}" for name in modules]
    _write(DOCS / "api" / "index.rst", "\n".join(lines) + "\n")
    expected = {DOCS / "api" / "generated" / f"c2c_analysis.{name}.rst" for name in names}
    expected |= {DOCS / "api" / "modules" / f"{name}.rst" for name in modules}
    expected |= {
        DOCS / "api" / "modules" / "generated" / f"{module}.{member}.rst"
        for module, members in modules.items()
        for member in members
    }
    # Names move (into the package's __all__, between modules): a stub left from an earlier
    # build would be a page outside every toctree.
    for folder in ("generated", "modules", "modules/generated"):
        for stale in set((DOCS / "api" / folder).glob("*.rst")) - expected:
            stale.unlink()
    for name, members in modules.items():
        title = f"``{name}``"
        page = [
            ".. This page is written by docs/conf.py from the module's __all__.",
            "",
            title,
            "=" * len(title),
            "",
        ]
        if name.rsplit(".", 1)[1] in c2c_analysis.__all__:
            # A module named like a public function (none today: tests/test_layout.py keeps
            # it so) would be one name for two objects: its docstring is written as text.
            doc = inspect.getdoc(sys.modules[name]) or ""
            page += [_PIPES.sub(r"\\|\1\\|", line) for line in doc.splitlines()]
        else:
            page += [f".. automodule:: {name}", "   :no-members:"]
        page.append("")
        if members:
            page += [f".. currentmodule:: {name}", "", ".. autosummary::"]
            page += ["   :toctree: generated", ""]
            page += [f"   {member}" for member in members]
        else:
            page.append("Its public names are documented in the :doc:`API reference <../index>`.")
        _write(DOCS / "api" / "modules" / f"{name}.rst", "\n".join(page) + "\n")


def _write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:  # unchanged pages are not rebuilt
        target.write_text(text)


@functools.cache
def _public_modules() -> dict[str, list[str]]:
    """Every public module, with the names of its __all__ documented on its own page.

    A name is documented once, where it is defined (or, for the package's own names, at
    ``c2c_analysis.<name>``); references to any other path of the same object are redirected
    there by :func:`_resolve`.
    """
    top = {id(getattr(c2c_analysis, n)) for n in c2c_analysis.__all__}
    modules: dict[str, list[str]] = {}
    for info in pkgutil.walk_packages(c2c_analysis.__path__, "c2c_analysis."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        members = []
        for member in getattr(module, "__all__", ()):
            if not hasattr(module, member):
                _PROBLEMS.append(f"{info.name}.__all__ names {member!r}, which it does not define")
                continue
            obj = getattr(module, member)
            if id(obj) in top:
                continue
            home = getattr(obj, "__module__", None) if callable(obj) else None
            if home is not None and home != info.name and home in sys.modules:
                continue  # documented in the module that defines it
            if home is None and _defined_deeper(info.name, member, obj):
                continue
            members.append(member)
        modules[info.name] = members
    return modules


def _defined_deeper(name: str, member: str, obj: object) -> bool:
    """A constant that a subpackage re-exports from one of its modules."""
    return any(
        m.startswith(name + ".") and getattr(sys.modules[m], member, None) is obj
        for m in list(sys.modules)
    )


@functools.cache
def _documented() -> dict[int, str]:
    """Documented objects by identity -> the full name they are documented under."""
    found: dict[int, str] = {}
    for module, members in _public_modules().items():
        found[id(sys.modules[module])] = module
        for member in members:
            found.setdefault(id(getattr(sys.modules[module], member)), f"{module}.{member}")
    for name in c2c_analysis.__all__:
        found[id(getattr(c2c_analysis, name))] = f"c2c_analysis.{name}"
    return found


def _lookup(target: str) -> object | None:
    """The object a dotted name inside the package points at, if any."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _resolve(app, env, node, contnode):  # Sphinx's missing-reference signature
    """Resolve ``c2c_analysis.gaps.gap_change`` and the like to where the object is documented.

    Docstrings name objects by the module that defines them (or by a bare constant such as
    ``GAP_CATEGORIES``); the reference documents them once. Targets outside the package are
    left alone, so they still warn.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target.startswith("c2c_analysis.") and any(
        part.startswith("_") and not part.startswith("__") for part in target.split(".")
    ):
        # A private helper named in a docstring (c2c_analysis._rows.resolve_rows) has no
        # page by design: it is shown as code, not as a link.
        return contnode
    if node.get("reftype") == "meth" and "." not in target and not node.get("py:class"):
        # A class's summary line in an autosummary table (``to_dict``) has no class to
        # resolve the method in; the method is documented on the class's own page.
        documented = _documented().values()
        classes = [_lookup(name) for name in documented]
        if any(inspect.isclass(c) and hasattr(c, target) for c in classes):
            return contnode
    candidates = [target]
    if not target.startswith("c2c_analysis"):
        module = node.get("py:module") or "c2c_analysis"
        candidates = [f"{module}.{target}", f"c2c_analysis.{target}"]
        candidates += [f"{m}.{target}" for m in _public_modules()]
    documented = _documented()
    for candidate in candidates:
        if not candidate.startswith("c2c_analysis"):
            continue
        obj = _lookup(candidate)
        if obj is None or id(obj) not in documented:
            continue
        name = documented[id(obj)]
        objtype = "module" if inspect.ismodule(obj) else "obj"
        new = env.domains["py"].resolve_xref(
            env, node["refdoc"], app.builder, objtype, name, node, contnode
        )
        if new is not None:
            return new
    return None


_PIPES = re.compile(r"(?<![\\`|])\|([^\s|`](?:[^|`\n]*?[^\s\\|`])?)\|(?![_|])")


def _escape_bars(app, what, name, obj, options, lines):
    """Absolute values written ``|Δg|`` in plain-text Notes are not substitutions.

    The docstrings read as plain text in ``help()``; reStructuredText would take ``|x|`` for a
    substitution reference. Doctest blocks (whose output may draw tables) are left alone.
    """
    in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            in_doctest = True
        elif not stripped:
            in_doctest = False
        table = stripped.startswith(("+", "| ")) or (
            stripped.startswith("|") and stripped.endswith("|")
        )
        if not in_doctest and not table:
            lines[i] = _PIPES.sub(r"\\|\1\\|", line)


def _report_problems(app):
    for problem in _PROBLEMS:
        logger.warning(problem)


def _public_bases(app, name, obj, options, bases):
    """Private base classes (``_Result``) are not documented: leave them out of the bases."""
    bases[:] = [base for base in bases if not base.__name__.startswith("_")]


def setup(app):
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("builder-inited", _report_problems)
    app.connect("missing-reference", _resolve)
    # before numpydoc (priority 500) so the escaped lines are what it parses
    app.connect("autodoc-process-docstring", _escape_bars, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _gallery_copy(source: Path) -> bytes:
    """The template as the gallery shows it: its opening comment cell replaced by a title.

    A report's title is computed from the data (an HTML output), so the template itself
    starts without a Markdown heading; a documentation page needs one (MyST's
    ``myst.header`` check, and the title in the gallery's table of contents).
    """
    import json

    notebook = json.loads(source.read_text(encoding="utf-8"))
    title = "# " + source.stem.replace("_", " ").capitalize()
    cells = notebook["cells"]
    first = "".join(cells[0]["source"]) if cells else ""
    heading = {"cell_type": "markdown", "id": "gallery-title", "metadata": {}, "source": [title]}
    if cells and cells[0]["cell_type"] == "markdown" and first.lstrip().startswith("<!--"):
        cells[0] = heading
    else:
        cells.insert(0, heading)
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _copy_gallery() -> None:
    """Copy the templates into the gallery (only when changed, so Sphinx and the cache agree)."""
    gallery = DOCS / "gallery"
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        target = gallery / source.name
        content = _gallery_copy(source)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
    for target in gallery.glob("*.ipynb"):
        if not (ROOT / "notebooks" / target.name).exists():
            target.unlink()


_write_api_index()
_copy_gallery()
# The pages to generate stubs for, named: on an incremental build autosummary would look
# only at the documents the previous build found, and miss a module page written just now.
autosummary_generate = sorted(
    str(page.relative_to(DOCS))
    for page in (DOCS / "api").glob("**/*.rst")
    if page.parent.name != "generated"
)
