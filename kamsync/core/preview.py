"""What ``kamsync preview`` serves and to whom, decided without I/O: which variation, which of its files in which
order (the bundle), whether a request may be answered, how text becomes a safe JavaScript literal, and the values
the preview reports (shown by ``kamsync.ui.preview``)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from kamsync.core.errors import UsageError
from kamsync.core.model import ExperimentSpec, Manifest, MappedFile, VariationSpec
from kamsync.core.reports import PlanReport

__all__ = [
    "ALLOWED_METHODS",
    "PARTS",
    "Bundle",
    "Part",
    "PreviewSaved",
    "PreviewStarted",
    "PreviewStopped",
    "RemoteReport",
    "Verdict",
    "choose_variation",
    "js_literal",
    "judge_request",
    "part_files",
    "query_int",
]


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of code a preview applies: ``name`` names it on the page, ``kind`` is ``css`` or ``js``."""

    name: str
    kind: str
    field: str  # the API field of the mapped file it comes from
    of_variation: bool


# Kameleoon's order: the experiment's common code first, then the variation's; CSS before JS in each.
PARTS = (
    Part("common-css", "css", "commonCssCode", of_variation=False),
    Part("common-js", "js", "commonJavaScriptCode", of_variation=False),
    Part("variation-css", "css", "cssCode", of_variation=True),
    Part("variation-js", "js", "jsCode", of_variation=True),
)


@dataclass(frozen=True, slots=True)
class Bundle:
    """The code of one variation as the page gets it: every part's text ("" for a field with no local file)."""

    experiment_id: int
    variation_id: int
    codes: tuple[str, ...]  # in the order of PARTS
    version: int = 1

    def document(self) -> dict[str, object]:
        """The JSON the loader, the userscript and the event stream carry."""
        return {
            "version": self.version,
            "experiment": self.experiment_id,
            "variation": self.variation_id,
            "parts": [{"name": p.name, "kind": p.kind, "code": c} for p, c in zip(PARTS, self.codes, strict=True)],
        }

    def json(self) -> str:
        """``document`` as one line of ASCII JSON that is also a safe JavaScript literal (see ``js_literal``)."""
        return js_literal(self.document())


def part_files(experiment: ExperimentSpec, variation: VariationSpec) -> tuple[MappedFile | None, ...]:
    """The mapped file of each part, in the order of PARTS (``None`` where the manifest maps none)."""

    def mapped(files: Sequence[MappedFile], field: str) -> MappedFile | None:
        return next((f for f in files if f.ref.field == field), None)

    return tuple(mapped(variation.files if p.of_variation else experiment.files, p.field) for p in PARTS)


def choose_variation(
    manifest: Manifest, experiment_id: int | None, variation_id: int | None
) -> tuple[ExperimentSpec, VariationSpec]:
    """The experiment and variation to preview, from ``--experiment`` and ``--variation`` (either may be left
    out when the manifest leaves only one choice)."""
    experiments = [e for e in manifest.experiments if experiment_id is None or e.id == experiment_id]
    if experiment_id is not None and not experiments:
        known = ", ".join(str(e.id) for e in manifest.experiments) or "none"
        raise UsageError(f"--experiment {experiment_id}: the manifest maps no such experiment (it maps: {known})")
    pairs = [(e, v) for e in experiments for v in e.variations if variation_id is None or v.id == variation_id]
    if not pairs:
        where = f"experiment {experiment_id}" if experiment_id is not None else "the manifest"
        if variation_id is not None:
            raise UsageError(f"--variation {variation_id}: {where} maps no such variation; `kamsync status` lists them")
        raise UsageError(f"{where} maps no variation to preview; `kamsync pull` maps an experiment's variations")
    if len(pairs) > 1:
        choices = ", ".join(f"{v.id} ({v.name or v.dir}, experiment {e.id})" for e, v in pairs)
        raise UsageError(f"say which variation to preview with --variation ID: {choices}")
    return pairs[0]


class Verdict(str, Enum):
    SERVE = "serve"
    FORBIDDEN = "forbidden"  # a wrong token, or a Host that is not the address served: 403, saying nothing more
    NOT_ALLOWED = "not-allowed"  # the right token, a method other than GET and HEAD
    NOT_FOUND = "not-found"  # the right token, an unknown name


ALLOWED_METHODS = ("GET", "HEAD")  # the preview only hands out: nothing a request sends changes anything


def judge_request(
    host: str | None, path: str, *, method: str, served_host: str, token: str, names: Sequence[str]
) -> tuple[Verdict, str]:
    """Whether to answer ``method`` on ``path`` (``/<token>/<name>``, any query already removed) and with which
    name.

    The Host must be exactly the loopback address and port served: a page of another site whose name resolves to
    127.0.0.1 (DNS rebinding) sends its own name, and is refused. The token is compared in constant time. Both
    come before the method and the name, so a request without them learns nothing from its method or its path:
    whatever it asks, it gets the same refusal."""
    if host is None or host.strip().lower() != served_host.lower():
        return Verdict.FORBIDDEN, ""
    given, _, name = path.lstrip("/").partition("/")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
        return Verdict.FORBIDDEN, ""
    if method not in ALLOWED_METHODS:
        return Verdict.NOT_ALLOWED, ""
    return (Verdict.SERVE, name) if name in names else (Verdict.NOT_FOUND, "")


# Characters that end or change a script or an HTML context, escaped wherever the text is a JavaScript literal.
_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def js_literal(value: object) -> str:
    """``value`` as a JavaScript literal that cannot end the script holding it or run anything: ASCII JSON (so
    U+2028/U+2029, quotes, backslashes and backticks are escaped or inert) with ``<``, ``>`` and ``&`` escaped too,
    so ``</script>`` or ``<!--`` in code stays text even where the literal sits inside an HTML page."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return "".join(_UNSAFE.get(ch, ch) for ch in text)


def query_int(query: Mapping[str, Sequence[str]], name: str) -> int | None:
    """An integer query parameter, ``None`` when absent or not a number."""
    values = query.get(name) or []
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PreviewStarted:
    """The preview serves: what to paste where (every URL carrying the token)."""

    urls: Mapping[str, str]
    what: str  # "variation 200001 (Red button) of experiment 100001"
    snippet: str  # the console snippet
    files: tuple[str, ...]  # the mapped files served, relative to the manifest's folder
    matched: bool  # the userscript was given --match patterns


@dataclass(frozen=True, slots=True)
class PreviewSaved:
    """A save changed the code served: its version and the parts that changed."""

    version: int
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreviewStopped:
    """The preview ended (Ctrl-C, SIGTERM): its result."""

    code: int = 0


@dataclass(frozen=True, slots=True)
class RemoteReport:
    """``--remote``: the push of the variation's fields, and the simulation URL once Kameleoon holds them."""

    push: PlanReport
    simulation: str | None
    variation: str  # "variation 200001 of experiment 100001"

    @property
    def code(self) -> int:
        return self.push.code
