"""The public contract in one place: every public name and signature (issue 19).

``tests/data/public_api.txt`` lists each public module's ``__all__`` with the signature of
every function and class (and the public methods and properties of the classes). A change
of the contract shows up here as a diff; when it is meant, rewrite the listing with::

    C2C_WRITE_PUBLIC_API=1 python -m pytest tests/test_public_names.py

and commit it with the change. The vocabulary rules are checked on every signature: a
``level`` is a float confidence level, a ``seed`` defaults to None, and every renamed
parameter of :data:`c2c_analysis.vocabulary.RENAMED` keeps its old name, keyword-only, with
the ``<deprecated>`` default, beside the new one.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import pkgutil
import re
from pathlib import Path

import pytest

import c2c_analysis
from c2c_analysis._checks import DEPRECATED
from c2c_analysis.vocabulary import PARAMETERS, RENAMED

LISTING = Path(__file__).parent / "data" / "public_api.txt"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def public_modules() -> list[str]:
    names = ["c2c_analysis"]
    for info in pkgutil.walk_packages(c2c_analysis.__path__, "c2c_analysis."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def _signature(obj) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""
    return _ADDRESS.sub("", text)


def _members(cls) -> list[str]:
    lines = []
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_") and name not in ("__init__", "__call__"):
            continue
        if isinstance(member, property):
            lines.append(f"    .{name} (property)")
        elif inspect.isfunction(member):
            lines.append(f"    .{name}{_signature(member)}")
        elif isinstance(member, classmethod | staticmethod):
            lines.append(f"    .{name}{_signature(member.__func__)}")
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields:
        lines.append("    fields: " + ", ".join(fields))
    return lines


def listing() -> str:
    lines = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        lines.append(f"[{module_name}]")
        for name in sorted(exported):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                lines.append(f"  class {name}{_signature(obj)}")
                lines += _members(obj)
            elif callable(obj):
                lines.append(f"  def {name}{_signature(obj)}")
            else:
                lines.append(f"  {name}: {type(obj).__name__}")
        lines.append("")
    return "\n".join(lines)


def _functions():
    seen = set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj not in seen:
                seen.add(obj)
                yield f"{module_name}.{name}", obj


def test_the_listing_is_current():
    current = listing()
    if os.environ.get("C2C_WRITE_PUBLIC_API"):
        LISTING.write_text(current, encoding="utf-8")
    recorded = LISTING.read_text(encoding="utf-8") if LISTING.exists() else ""
    diff = "\n".join(
        difflib.unified_diff(
            recorded.splitlines(), current.splitlines(), "recorded", "current", lineterm=""
        )
    )
    assert not diff, "the public contract changed (see the module docstring):\n" + diff[:8000]


def test_every_exported_name_exists():
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}"


@pytest.mark.parametrize("where", [where for where, _ in _functions()])
def test_signatures_follow_the_vocabulary(where):
    function = dict(_functions())[where]
    parameters = inspect.signature(function).parameters
    level = parameters.get("level")
    if level is not None and level.default not in (inspect.Parameter.empty, DEPRECATED):
        assert isinstance(level.default, float), f"{where}: level is a float confidence level"
    seed = parameters.get("seed")
    if seed is not None:
        assert seed.default is None, f"{where}: seed defaults to None"
    for parameter in parameters.values():
        if parameter.default is DEPRECATED:
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{where}: {parameter.name}"


def test_renamed_parameters_keep_their_old_names():
    functions = {}
    for where, function in _functions():
        functions.setdefault(where.rsplit(".", 1)[1], function)
    for entry in RENAMED:
        function = functions[entry.function]
        parameters = inspect.signature(function).parameters
        assert entry.new in parameters, entry
        old = parameters.get(entry.old)
        assert old is not None, entry
        # A name that moved to another meaning (aggregate_students: outcome was the 0/1
        # column, now the outcome id) is the new parameter; the old usage is recognised.
        if any(e.function == entry.function and e.new == entry.old for e in RENAMED):
            continue
        assert old.default is DEPRECATED, entry
        assert old.kind is inspect.Parameter.KEYWORD_ONLY, entry


def test_the_vocabulary_names_are_documented():
    for name in ("time", "group", "numerator", "denominator", "by", "reference", "better"):
        assert name in PARAMETERS
        assert f"``{name}``" in (importlib.import_module("c2c_analysis.vocabulary").__doc__ or "")
