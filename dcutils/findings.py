"""An item's findings: its verdict on the paper's claim and the numbers its prose cites.

Each notebook ends with "What we see": Markdown computed from its runs. The
notebook hands that text to :func:`dcutils.outputs.save_findings`, which writes
``figures/<paper>/<stem>.values.json`` beside the item's figure or table::

    {"item": "brb/fig01", "profile": "quick", "commit": "...",
     "verdict": "reproduces", "reason": "...",
     "values": {"usps/idec/no-pretrain/acc/brb-none": 18.03, ...},
     "text": "..."}

The figure index (:func:`dcutils.catalog.render_index`) reads it back with
:func:`read` and shows the verdict next to the item's status.

**Verdicts** (:data:`VERDICTS`; :data:`VERDICT_MEANING` says each in one line):
``reproduces``, ``does not reproduce``, ``inconclusive`` and ``not testable
here``. The last two need a ``reason`` of one sentence.

**Every number in the text is a value.** :func:`unchecked_numbers` lists the
numbers of a text that match none of ``values`` (a value 67.523 matches
"67.5", "67.52" or "68": the text may round it, to the digits it shows). The
rule for what counts as a number, kept simple on purpose:

- digits touching a letter or ``_`` are part of a name, not a number:
  ``fig01``, ``tab13``, ``ResNet18``, ``bf16``, ``fp32``, ``CIFAR10``, ``d1/d2``,
  ``2D``; so is anything joined to such a name by a hyphen (``CIFAR100-20``,
  ``d-500-500``) and the digits after a dot that follows a number
  (the ``1`` of ``2.14.1``);
- a number right after ``Table``, ``Tables``, ``Figure``, ``Figures``,
  ``Fig.``, ``Section``, ``Appendix``, ``Eq.`` or ``Algorithm`` is a reference
  (so is the end of a range after it: ``Tables 13-15``);
- every other number is checked, years and counts included; a hyphen between
  two numbers is a range (``55.2-95.3`` is two numbers), a ``+``, ``-`` or ``−``
  before a number elsewhere is its sign. A signed number must match a value's
  sign; an unsigned one matches a value of either sign ("behind by 2.8"
  cites -2.8). Numbers inside a string value count as values too.

:class:`Cite` formats a number for the text and keeps it under a name in one
step, so prose and values cannot part.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPRODUCES = "reproduces"
DOES_NOT_REPRODUCE = "does not reproduce"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable here"
#: The four verdicts, in the order the index explains them.
VERDICTS = (REPRODUCES, DOES_NOT_REPRODUCE, INCONCLUSIVE, NOT_TESTABLE)
#: Verdicts that must say why, in one sentence.
NEED_REASON = (INCONCLUSIVE, NOT_TESTABLE)
VERDICT_MEANING = {
    REPRODUCES: "the runs here show what the paper claims (a paired difference beyond 2 SE with the paper's sign, "
                "or the paper's number inside our interval)",
    DOES_NOT_REPRODUCE: "the runs here show the opposite of the claim, or a number clearly outside the paper's",
    INCONCLUSIVE: "the runs here can tell neither (e.g. a difference within 2 SE); the reason says what is missing",
    NOT_TESTABLE: "the item makes no claim this profile can test (a table of settings, a pseudocode, a comparison "
                  "left to the paper profile); the reason says which",
}
#: The file's keys, in the order they are written.
FIELDS = ("item", "profile", "commit", "verdict", "reason", "values", "text")
SUFFIX = ".values.json"


def overall_verdict(checks: Sequence[str]) -> str:
    """An item's verdict from the verdicts of its checks (each a paired comparison with the paper's claim).

    - "not testable here": no check could be made;
    - "does not reproduce": more checks contradict the paper than reproduce it;
    - "reproduces": more than half reproduce it and none contradicts it;
    - "inconclusive": otherwise (most stay within 2 SE, or they disagree among themselves).
    """
    n = len(checks)
    if n == 0:
        return NOT_TESTABLE
    rep = sum(c == REPRODUCES for c in checks)
    contra = sum(c == DOES_NOT_REPRODUCE for c in checks)
    if contra > rep:
        return DOES_NOT_REPRODUCE
    if rep > n / 2 and contra == 0:
        return REPRODUCES
    return INCONCLUSIVE


class FindingsError(ValueError):
    """A findings file that cannot be read back (not JSON, missing keys, an unknown verdict)."""


# ----------------------------------------------------------------------------
# numbers in prose

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][+\-−]?\d+)?")
_SIGNS = "+-−"
_RANGE = "-–"
_REFERENCE = re.compile(r"(?:\b(?:Tables?|Figures?|Section|Appendix|Algorithm)|\b(?:Fig|Eq)\.)\s*$")


@dataclass(frozen=True)
class _Number:
    written: str  # as in the text, with its sign
    value: float
    signed: bool
    tolerance: float  # half a unit of the last digit written


def _parse(token: str, sign: str) -> _Number:
    mantissa, _, exp = token.replace(",", "").lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    exponent = int(exp.replace("−", "-")) if exp else 0
    value = float(mantissa) * 10.0 ** exponent
    if sign in "-−" and sign:
        value = -value
    return _Number(sign + token, value, bool(sign), 0.5 * 10.0 ** (exponent - decimals))


def numbers_in(text: str) -> list[_Number]:
    """The numbers of ``text`` that the rule of this module checks (names and references left out)."""
    found: list[_Number] = []
    ignored_end = -1  # end of the last match that was a name or a reference
    last_end = -1
    for m in _NUMBER.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        sign = ""
        ignore = before.isalpha() or before == "_" or after.isalpha() or after == "_"
        if before == "." and start >= 2 and text[start - 2].isdigit():
            ignore = True  # 2.14.1: the digits after a number's second dot
        elif before and before in _SIGNS + "–":
            joined = text[start - 2] if start >= 2 else ""
            if joined.isalpha() or joined == "_":
                ignore = True  # d-500, top-5
            elif joined.isdigit() and last_end == start - 1:
                ignore = ignore or ignored_end == start - 1  # CIFAR100-20, Tables 13-15; else a range 2.5-8
            elif before in _SIGNS:
                sign = before
        if not ignore and _REFERENCE.search(text[max(0, start - 20):start]):
            ignore = True
        if ignore:
            ignored_end = end
        else:
            found.append(_parse(m.group(), sign))
        last_end = end
    return found


def _candidates(values: Mapping[str, Any]) -> list[float]:
    out: list[float] = []
    for v in values.values():
        if isinstance(v, str):
            out += [n.value for n in numbers_in(v)]
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out.append(float(v))
    return out


def unchecked_numbers(text: str, values: Mapping[str, Any]) -> list[str]:
    """Every number of ``text`` (as written) that matches none of ``values``, in order of appearance.

    A number matches a value that rounds to it at the digits it shows (67.523 matches "67.5" and "68", not
    "67.6"); a number with a sign must match the value's sign, one without matches either. What counts as a
    number (not a name such as ``fig01`` or ``bf16``, not a reference such as ``Table 13``): see the module's
    docstring.
    """
    cands = _candidates(values)
    missing = []
    for n in numbers_in(text):
        slack = n.tolerance * (1 + 1e-9) + 1e-12 * abs(n.value)
        if not any(abs((v if n.signed else abs(v)) - (n.value if n.signed else abs(n.value))) <= slack
                   for v in cands):
            missing.append(n.written)
    return missing


class Cite:
    """Formats numbers for prose and keeps each under a name: ``cite("usps/acc/brb", 85.46, ".1f")`` → ``"85.5"``.

    ``cite.values`` is then the ``values`` of :func:`dcutils.outputs.save_findings`. Citing a name again
    with the same value is fine; with another value it is an error (two numbers would share a name).
    """

    def __init__(self) -> None:
        self.values: dict[str, float | int | str] = {}

    def __call__(self, name: str, value: Any, spec: str = "") -> str:
        value = _plain(name, value)
        old = self.values.get(name)
        if name in self.values and old != value:
            raise ValueError(f"cited value {name!r} twice with different values: {old!r} and {value!r}")
        self.values[name] = value
        return format(value, spec)


# ----------------------------------------------------------------------------
# the record


def _plain(name: str, value: Any) -> float | int | str:
    """``value`` as a JSON number or string; ValueError for anything else or a non-finite number."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"value names must be non-empty strings, not {name!r}")
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"value {name!r} must be a number or a string, not {type(value).__name__} ({value!r})")
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value {name!r} is {value}: the text can only cite finite numbers (leave it out, or say "
                         f"in words why there is none)")
    return value


@dataclass(frozen=True)
class Findings:
    """One item's findings, as written to (or read from) its ``.values.json``; shows as Markdown in Jupyter."""

    item: str
    profile: str
    commit: str
    verdict: str
    reason: str
    values: dict[str, float | int | str] = field(default_factory=dict)
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELDS}

    def markdown(self) -> str:
        """The verdict (with its reason) as a bold first line, then the text."""
        head = f"**Verdict: {self.verdict}**" + (f": {self.reason}" if self.reason else "")
        return f"{head}\n\n{self.text}" if self.text else head

    def _repr_markdown_(self) -> str:
        return self.markdown()


def make(item: str, profile: str, commit: str, verdict: str, reason: str | None, values: Mapping[str, Any],
         text: str) -> Findings:
    """Validated :class:`Findings`; ValueError naming what is wrong (verdict, reason, values or cited numbers)."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; the verdicts are {', '.join(map(repr, VERDICTS))}")
    reason = (reason or "").strip()
    if verdict in NEED_REASON and not reason:
        raise ValueError(f"verdict {verdict!r} needs a reason: one sentence saying why")
    if "\n" in reason:
        raise ValueError(f"the reason must be one sentence on one line, not {reason!r}")
    if not isinstance(values, Mapping):
        raise ValueError(f"values must be a flat dict name -> number or string, not {type(values).__name__}")
    plain = {name: _plain(name, v) for name, v in values.items()}
    if not isinstance(text, str):
        raise ValueError(f"text must be Markdown (a string), not {type(text).__name__}")
    missing = unchecked_numbers(reason + "\n" + text, plain)
    if missing:
        raise ValueError(f"{item}: the text cites numbers that are not among its values: {', '.join(missing)} "
                         f"(compute them and pass them in values, e.g. with findings.Cite)")
    return Findings(item, profile, commit, verdict, reason, plain, text)


def write(path: Path, findings: Findings) -> Path:
    """Write ``findings`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(findings.as_dict(), indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read(path: Path) -> Findings | None:
    """The findings stored at ``path``; None when there is no such file, FindingsError when it is corrupt."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FindingsError(f"{path} is not valid JSON ({e}); rerun its notebook to rewrite it") from None
    if not isinstance(raw, dict) or set(FIELDS) - set(raw):
        missing = sorted(set(FIELDS) - set(raw)) if isinstance(raw, dict) else list(FIELDS)
        raise FindingsError(f"{path} lacks {', '.join(missing)}; rerun its notebook to rewrite it")
    if raw["verdict"] not in VERDICTS:
        raise FindingsError(f"{path} holds the unknown verdict {raw['verdict']!r}; the verdicts are "
                            f"{', '.join(map(repr, VERDICTS))}")
    if not isinstance(raw["values"], dict):
        raise FindingsError(f"{path}: values must be a dict, not {type(raw['values']).__name__}")
    return Findings(**{k: raw[k] for k in FIELDS})
