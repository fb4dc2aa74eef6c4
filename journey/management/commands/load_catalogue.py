from django.core.management.base import BaseCommand

from journey.catalogue import load_catalogue


class Command(BaseCommand):
    help = "Load the therapy catalogue (label facts) from journey/catalogue/*.json."

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="Overwrite rows already in the database with the files' values.",
        )

    def handle(self, *args, update=False, **options):
        counts = load_catalogue(update=update)
        changes = counts.pop("label_changes")
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Catalogue loaded: {summary}."))
        for change in changes:
            self.stdout.write(describe(change))


def describe(change):
    """One block per changed therapy: its fields, its schedule by item code, the journeys."""
    fields = ", ".join(change["fields"]) or "eligibility criteria only"
    what = "new in the catalogue" if change.get("new") else f"changed {fields}"
    lines = [f"{change['name']} ({change['therapy']}): {what}"]
    for key, codes in (change.get("criteria") or {}).items():
        if codes and key == "center_settings_removed":
            lines.append(f"  center policy switched on, removed with its rule: {', '.join(codes)}")
        elif codes:
            lines.append(f"  eligibility criteria {key}: {', '.join(codes)}")
    schedule = change.get("schedule")
    if schedule is None:
        lines.append("  schedule unchanged: no plan is affected")
        return "\n".join(lines)
    for key in ("added", "removed", "changed"):
        if schedule[key]:
            lines.append(f"  schedule items {key}: {', '.join(schedule[key])}")
    if "ltfu_years" in schedule:
        before, after = schedule["ltfu_years"]
        lines.append(f"  long-term follow-up: {before} -> {after} years")
    lines.append(
        f"  open journeys with a plan on this therapy: {change['open_journeys']} "
        '(each is listed on the worklist as "Label changed: review plan")'
    )
    return "\n".join(lines)
