"""How a push shows the variations it creates: the plan (create or adopt, and the traffic split before and
after), and what was made."""

from __future__ import annotations

from kamsync.core.creation import Adopt, Create, Created, CreationPlan, split_text
from kamsync.core.events import CreationPlanned, VariationCreated
from kamsync.ui.console import Console
from kamsync.ui.show import renders

__all__ = ["created_line", "plan_lines"]


def plan_lines(plan: CreationPlan, *, dry_run: bool) -> list[str]:
    """One line per new variation, then one per experiment with its split; forgotten journal entries last."""
    lines: list[str] = []
    verb = "would" if dry_run else "will"
    for experiment in plan.experiments:
        for step in experiment.steps:
            where = f"new variation {step.spec.name!r} of experiment {experiment.spec.id} ({step.spec.dir})"
            if isinstance(step.decision, Create):
                lines.append(f"{where}: {verb} be created")
            elif isinstance(step.decision, Adopt):
                how = "already attached" if step.decision.attached else "to be attached"
                lines.append(f"{where}: variation {step.decision.id} of the site has that name: adopted ({how})")
        if experiment.split and experiment.changes_traffic:
            lines.append(
                f"traffic of experiment {experiment.spec.id}: {split_text(experiment.before, experiment.split)}"
            )
    for entry in plan.forgotten:
        lines.append(
            f"an earlier push was creating {entry.describe()}, which the manifest no longer names: look for it in "
            "Kameleoon (kamsync forgets it now)"
        )
    return lines


def created_line(made: Created) -> str:
    how = "adopted" if made.adopted else "created"
    return (
        f"{how} variation {made.variation_id} {made.name!r} of experiment {made.experiment_id} ({made.dir}); "
        "its id is now in the manifest: commit it"
    )


@renders(CreationPlanned)
def _planned(console: Console, event: CreationPlanned) -> None:
    for line in plan_lines(event.plan, dry_run=event.dry_run):
        console.out(line)
    for reason in event.plan.refusals:
        console.error(f"refused: {reason}")


@renders(VariationCreated)
def _created(console: Console, event: VariationCreated) -> None:
    console.out(created_line(event.made))
