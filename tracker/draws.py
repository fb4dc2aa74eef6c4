"""A draw: what a family and a nurse think of as one blood test.

The schedule stores one row per plan item and date (ScheduledLab), so a visit with a liver panel
and a platelet count is two rows due the same day. Pages, the worklist and reminders group them
here, by one key: the journey and the due day. Pure functions: rows in, draws out.
"""

from dataclasses import dataclass, field
from datetime import date


def draw_key(row) -> tuple[int, date]:
    """The grouping key of a scheduled row (a model instance or a dict from values())."""
    if isinstance(row, dict):
        return row["journey_id"], row["due_on"]
    return row.journey_id, row.due_on


@dataclass
class Draw:
    journey_id: int
    due_on: date
    rows: list = field(default_factory=list)

    @property
    def window_start(self) -> date:
        return min(_get(r, "window_start") for r in self.rows)

    @property
    def window_end(self) -> date:
        return max(_get(r, "window_end") for r in self.rows)

    @property
    def ids(self) -> list[int]:
        return [_get(r, "id") for r in self.rows]


def _get(row, name):
    return row[name] if isinstance(row, dict) else getattr(row, name)


def group_draws(rows) -> list[Draw]:
    """Rows grouped by journey and due day, in the order each draw's first row came."""
    draws: dict[tuple[int, date], Draw] = {}
    for row in rows:
        journey_id, due_on = draw_key(row)
        draw = draws.get((journey_id, due_on))
        if draw is None:
            draw = draws[(journey_id, due_on)] = Draw(journey_id, due_on)
        draw.rows.append(row)
    return list(draws.values())
