"""The one module that changes Kameleoon: it executes a push plan, checks what was stored, and remembers it."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamsync.api.client import KameleoonClient
from kamsync.api.payloads import site_from_payload
from kamsync.api.remote import read_sites_by_code
from kamsync.core.errors import ApiError, ChangedSinceRead, LocalWriteError, LockedInApp, WriteMismatch
from kamsync.core.model import CODE_FIELDS, Entity, FieldRef
from kamsync.core.normalize import file_text, normalize
from kamsync.core.plan import Plan, Write, forced_overwrites
from kamsync.core.reports import Outcome
from kamsync.state.files import write_atomic
from kamsync.state.journal import Command, Journal, JournalField, JournalWrite, digest
from kamsync.state.record import Record

RESOURCE = {
    Entity.EXPERIMENT: "experiments",
    Entity.VARIATION: "variations",
    Entity.PERSONALIZATION: "personalizations",
    Entity.PERSONALIZATION_VARIATION: "variations",
}


def backup_name(ref: FieldRef) -> str:
    """The file a forced push keeps ``ref``'s overwritten remote value in: named by entity and field only, e.g.
    ``variation-200001-jsCode.js``, so it can never point outside its run's folder whatever the manifest's paths
    (``../`` climbing onto the working tree, two paths that collide), and two fields never share a file."""
    suffix = next((Path(f.default_file).suffix for f in CODE_FIELDS if f.api_name == ref.field), "")
    ident = ref.site_code if ref.entity is Entity.SITE and ref.site_code else ref.entity_id  # a code has no '/'
    return f"{ref.entity.value}-{ident}-{ref.field}{suffix}"


def save_backup(state_dir: Path, plan: Plan) -> Path | None:
    """Keep the remote values ``--force`` is about to overwrite, in a folder of this run's own under
    ``backups/``, with ``index.json`` saying which field and file each one belongs to."""
    overwritten = forced_overwrites(plan.writes)
    if not overwritten:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backups = state_dir / "backups"
    try:
        backups.mkdir(parents=True, exist_ok=True)
        # A folder of its own per run, even for two runs in the same second.
        folder = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=backups))
    except OSError as exc:
        raise LocalWriteError(backups, exc, "the remote values --force would overwrite") from exc
    index = []
    for status in overwritten:
        ref = status.mapped.ref
        name = backup_name(ref)
        write_atomic(folder / name, file_text(status.remote))
        item: dict[str, object] = {
            "file": name,
            "path": status.path,
            "experiment_id": ref.root_id_of(Entity.EXPERIMENT),
            "variation_id": ref.variation_id,
            "field": ref.field,
            "state": status.state.value,
        }
        if ref.root is not Entity.EXPERIMENT:  # an experiment's entry stays as it always was
            item.update(kind=ref.entity.value, personalization_id=ref.root_id_of(Entity.PERSONALIZATION))
        index.append(item)
    write_atomic(folder / "index.json", json.dumps(index, indent=2) + "\n")
    return folder


def check_stored(write: Write, answer: dict[str, object] | None) -> None:
    """After a write, compare what Kameleoon answered with what was sent (when it answered those fields)."""
    if answer is None:
        return
    for name, sent in write.body.items():
        if name in answer and normalize(str(answer[name] or "")) != normalize(sent):
            raise WriteMismatch(
                f"{write.describe()}: Kameleoon accepted {name} but stores something else than what was sent; "
                "run `kamsync diff` to see what it holds",
                subject=write.describe(),
            )


def journal_writes(writes: tuple[Write, ...]) -> list[JournalWrite]:
    """What the journal keeps of each write: digests of the value replaced and of the value sent."""
    return [
        JournalWrite(
            w.entity.value,
            w.entity_id,
            w.root_id,
            tuple(JournalField(f.mapped.ref.field, f.path, digest(f.remote), digest(f.local)) for f in w.fields),
        )
        for w in writes
    ]


def execute(
    plan: Plan,
    client: KameleoonClient,
    record: Record,
    *,
    journal: Journal | None = None,
    command: Command = Command.PUSH,
    tag: str = "",
    on_sending: Callable[[int, Write], None] = lambda i, w: None,
    on_written: Callable[[Write], None] = lambda w: None,
) -> Outcome:
    """Send each write in turn, journaled before and after. An entity locked in the Kameleoon app is skipped and
    the rest goes on; any other failure, or Ctrl-C, stops the run, and what follows is reported as not attempted.
    The journal is removed once every write is done; otherwise it stays for the next run to resume from."""
    outcome = Outcome()
    if journal is not None and plan.writes:
        journal.begin(command, journal_writes(plan.writes), tag)
    for index, write in enumerate(plan.writes):
        on_sending(index, write)
        sent = False

        def mark_sent(index: int = index) -> None:
            nonlocal sent
            if not sent:
                sent = True  # from here on, an interruption leaves this write in doubt
                _mark(journal, index, "sending")  # on disk before the request leaves

        try:
            answer = _send(client, write, mark_sent)
            check_stored(write, answer)
        except KeyboardInterrupt:
            _cancelled(outcome, plan.writes, index, sent=sent)
            break
        except LockedInApp as error:
            _mark(journal, index, "failed")
            outcome.skipped.append((write, error))
            continue
        except ApiError as error:
            _mark(journal, index, "failed")
            outcome.failed.append((write, error))
            outcome.not_attempted.extend(plan.writes[index + 1 :])
            break
        _confirmed(outcome, record, journal, index, write)
        on_written(write)
    if journal is not None and outcome.complete:
        journal.clear()
    return outcome


def _send(client: KameleoonClient, write: Write, on_send: Callable[[], None]) -> dict[str, object] | None:
    if write.entity is Entity.SITE:
        return replace_site(client, write, on_send)
    return client.patch(RESOURCE[write.entity], write.entity_id, write.body, subject=write.describe(), on_send=on_send)


def replace_site(client: KameleoonClient, write: Write, on_send: Callable[[], None]) -> dict[str, object] | None:
    """Read-modify-write of the site, whose API replaces the whole object: find it by code, read the whole object
    now (a list may be a summary of it), refuse if its global script is no longer what the plan replaces (someone
    edited it since), and send every other field back exactly as read, fields kamsync does not know included."""
    [status] = write.fields
    code = status.mapped.ref.site_code or ""
    subject = write.describe()
    listed = read_sites_by_code(client, [code]).get(code)
    if listed is None:
        raise ApiError(f"{subject} was not found in Kameleoon: check the site code in the manifest", subject=subject)
    site = site_from_payload(client.get("sites", listed.id, subject=subject))
    if site is None or (site.id, site.code) != (listed.id, code):
        raise ApiError(f"Kameleoon answered the read of {subject} with another site; nothing was sent", subject=subject)
    if site.tracking_script is None or normalize(site.tracking_script) != (status.remote or ""):
        raise ChangedSinceRead(
            f"{subject}: its global script changed in Kameleoon since this run read it; nothing was sent for it: "
            "run `kamsync status` to see it, then push again",
            subject=subject,
        )
    body = {**site.raw, status.mapped.ref.field: status.raw_local or ""}
    return client.patch("sites", site.id, body, subject=subject, on_send=on_send, method="PUT")


def _cancelled(outcome: Outcome, writes: tuple[Write, ...], index: int, *, sent: bool) -> None:
    """Ctrl-C during write ``index``: in doubt once it was sent, else not attempted, like every write after it."""
    outcome.cancelled = True
    if sent:
        outcome.interrupted = writes[index]
    else:  # still waiting for the rate budget: nothing of it left
        outcome.not_attempted.append(writes[index])
    outcome.not_attempted.extend(writes[index + 1 :])


def _confirmed(outcome: Outcome, record: Record, journal: Journal | None, index: int, write: Write) -> None:
    """Write ``index`` is stored: its values become the fields' base, and the journal says it is done."""
    for status in write.fields:
        record.remember(status.mapped.ref, status.local or "")
    warning = record.save()
    if warning is not None and warning not in outcome.warnings:
        outcome.warnings.append(warning)
    _mark(journal, index, "done")
    outcome.written.append(write)


def _mark(journal: Journal | None, index: int, status: str) -> None:
    if journal is not None:
        journal.mark(index, status)
