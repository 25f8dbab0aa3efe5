"""Gather what git and the record know about each differing field, and give every field its verdict.

``states.classify`` decides; this module only collects its evidence, with a fixed number of git processes:
one history walk for the remote values, and one read of the differing files at each of D, F and HEAD, made
only when a field without a record needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kamsync.core.errors import KamsyncError, LocalWriteError
from kamsync.core.model import Manifest, MappedFile
from kamsync.core.normalize import fingerprint, normalize
from kamsync.core.states import Base, Basis, Evidence, Seen, Verdict, classify
from kamsync.git.history import History
from kamsync.git.lineage import Lineage, lineage
from kamsync.git.pulled import merge_head, pulled_commits
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree
from kamsync.git.workspace import Workspace
from kamsync.state.record import Record

__all__ = ["Judged", "judge", "save_quietly"]

_UNREADABLE = "\0unreadable"  # a file an old commit holds in a form kamsync cannot read: never "empty", never equal


# A field's verdict, the commit holding its remote value (if any), and its base (if the verdict rests on one).
Judged = tuple[Verdict, "Seen | None", "Base | None"]


def judge(
    ws: Workspace,
    local: Mapping[MappedFile, str | None],
    values: Mapping[MappedFile, str | None],
    record: Record,
    from_rev: str | None,
) -> dict[MappedFile, Judged]:
    """The verdict of each field whose remote value is known (``None`` in ``values``: its entity is gone)."""
    differing = {
        mf for mf, value in values.items() if value is not None and local[mf] is not None and local[mf] != value
    }
    wanted: dict[str, set[str]] = {}
    for mf in differing:
        wanted.setdefault(ws.top_relative(mf.path), set()).add(values[mf] or "")
    sightings = History(ws.repo, ws.head).find(wanted) if wanted else {}
    seen = {mf: sightings.get((ws.top_relative(mf.path), values[mf] or "")) for mf in differing}
    recorded = _bases(ws, record, {mf: local[mf] for mf in differing}, {mf: values[mf] for mf in differing}, seen)
    # Fields without a record, not settled by history: the rules need the files at D, F and HEAD.
    unsettled = [mf for mf in differing if recorded[mf] is None and _in_head_or_unseen(seen[mf])]
    commits = _Commits(ws, unsettled, from_rev)

    out: dict[MappedFile, Judged] = {}
    for mf, value in values.items():
        evidence = Evidence()
        if mf in differing:
            evidence = Evidence(
                seen=seen[mf],
                recorded=recorded[mf],
                deployed_empty=commits.deployed_empty(mf),
                forked=commits.forked(mf),
            )
        verdict = classify(local[mf], value, evidence)
        if verdict is not None:
            base_print = recorded.get(mf)
            out[mf] = (verdict, seen.get(mf), _base(verdict, mf, seen.get(mf), record, base_print, commits, value))
    return out


def _bases(
    ws: Workspace,
    record: Record,
    local: Mapping[MappedFile, str | None],
    remote: Mapping[MappedFile, str | None],
    seen: Mapping[MappedFile, Seen | None],
) -> dict[MappedFile, str | None]:
    """Each field's base in force: a pull's value once its commit is in HEAD's history (or while its merge is
    in progress with the file as pull wrote it), else the recorded base; Kameleoon's value itself when HEAD's
    history holds it through a commit of values pulled from Kameleoon (a teammate merged it)."""
    pulls = {mf: p for mf in local if (p := record.pending(mf.ref)) is not None}
    commits = {p.commit for p in pulls.values() if p.commit is not None}
    head = ws.repo.head() if ws.tree is None else ws.tree.commit
    # A commit this clone no longer has (the record came from elsewhere, refs were pruned) carries nothing.
    known = {c for c in commits if ws.repo.commit_exists(c)}
    integrated = {c for c in known if head is not None and ws.repo.merge_base(c, head) == c}
    merging = merge_head(ws.repo) if ws.tree is None else None
    out: dict[MappedFile, str | None] = {}
    for mf, text in local.items():
        pull = pulls.get(mf)
        if pull is not None and (
            pull.commit in integrated or (pull.commit == merging and fingerprint(text or "") == pull.written)
        ):
            out[mf] = pull.value
            if pull.commit in integrated:
                base_text = record.text(pull.value)
                if base_text is not None:
                    record.remember(mf.ref, base_text)  # in history now: the pull's value is the base
        else:
            out[mf] = record.base(mf.ref)
    carried = {mf: s.commit for mf, b in out.items() if b is not None and (s := seen.get(mf)) and s.in_head}
    pulled = pulled_commits(ws.repo, carried.values())
    for mf, commit in carried.items():
        if commit in pulled:
            out[mf] = fingerprint(remote[mf] or "")
    return out


def _in_head_or_unseen(seen: Seen | None) -> bool:
    return seen is None or seen.in_head


def _base(
    verdict: Verdict,
    mf: MappedFile,
    seen: Seen | None,
    record: Record,
    base_print: str | None,
    commits: _Commits,
    remote: str | None,
) -> Base | None:
    if verdict.basis is Basis.RECORD:
        if base_print is not None and base_print == fingerprint(remote or ""):
            return Base(remote, None)  # Kameleoon's value is the base: it came in through a merged pull
        return Base(None if base_print is None else record.text(base_print), None)
    if verdict.basis is Basis.SEEN and seen is not None:
        return Base(remote, seen.commit)
    if verdict.basis is Basis.DEPLOYED:
        return Base(commits.text(commits.lineage.deployed, mf), commits.lineage.deployed)
    if verdict.basis is Basis.FORK:
        at = commits.forked_at(mf) or commits.lineage.fork or commits.lineage.head
        return Base(commits.text(at, mf), at)
    return None


class _Commits:
    """The unsettled fields' files at D, F and HEAD, read once each, when first asked for."""

    def __init__(self, ws: Workspace, files: Iterable[MappedFile], from_rev: str | None) -> None:
        self._ws = ws
        self._files = tuple(files)
        self._from = from_rev
        self._lineage: Lineage | None = None
        self._texts: dict[str | None, dict[MappedFile, str | None]] = {}

    @property
    def lineage(self) -> Lineage:
        if self._lineage is None:
            self._lineage = (
                lineage(self._ws.repo, self._ws.head, self._from) if self._files else Lineage(None, None, None)
            )
        return self._lineage

    def text(self, commit: str | None, mf: MappedFile) -> str | None:
        """The normalised file at ``commit`` (``None``: absent, or no such commit)."""
        if commit is None:
            return None
        if commit not in self._texts:
            self._texts[commit] = _read_at(self._ws.repo, commit, self._ws.manifest, self._files)
        text = self._texts[commit].get(mf)
        return None if text == _UNREADABLE else text

    def _raw(self, commit: str | None, mf: MappedFile) -> str | None:
        if commit is None:
            return None
        self.text(commit, mf)
        return self._texts[commit].get(mf)

    def deployed_empty(self, mf: MappedFile) -> bool:
        if mf not in self._files:
            return True
        return not self._raw(self.lineage.deployed, mf)

    def forked(self, mf: MappedFile) -> bool:
        return self.forked_at(mf) is not None

    def forked_at(self, mf: MappedFile) -> str | None:
        """The commit the file's local work starts from: F when the file differs between F and HEAD (work the
        shared line lacks), else D when it differs between D and HEAD (committed but not deployed yet)."""
        if mf not in self._files:
            return None
        at_head = self._raw(self.lineage.head, mf)
        for commit in (self.lineage.fork, self.lineage.deployed):
            if commit is not None and commit != self.lineage.head:
                then = self._raw(commit, mf)
                if then == _UNREADABLE or then != at_head:
                    return commit
        return None


def _read_at(
    repo: GitRepo, commit: str, manifest: Manifest, files: tuple[MappedFile, ...]
) -> dict[MappedFile, str | None]:
    tree = CommitTree(repo, commit)
    try:
        raw = tree.read_codes(manifest, files)
    except KamsyncError:  # one odd file at that commit: read the others one by one
        raw = {}
        for mf in files:
            try:
                raw[mf] = tree.read_code(manifest, mf)
            except KamsyncError:
                raw[mf] = _UNREADABLE
    return {mf: (text if text is None or text == _UNREADABLE else normalize(text)) for mf, text in raw.items()}


def save_quietly(record: Record, warnings: list[str]) -> None:
    """Save the record; a clone kamsync cannot write to (or a full disk) still gets its verdicts, with one
    warning."""
    try:
        warning = record.save()
    except LocalWriteError as error:
        warning = f"{error.problem}: later runs judge this run's values from git alone"
    if warning is not None:
        warnings.append(warning)
