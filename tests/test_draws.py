"""tracker.draws: one draw per journey and due day, whatever the number of plan items."""

from datetime import date

from tracker.draws import group_draws


def _row(id, journey_id, due_on, start, end):
    return {
        "id": id,
        "journey_id": journey_id,
        "due_on": due_on,
        "window_start": start,
        "window_end": end,
    }


def test_rows_of_one_journey_and_day_make_one_draw_with_the_widest_window():
    day = date(2026, 12, 7)
    rows = [
        _row(1, 10, day, date(2026, 12, 6), date(2026, 12, 8)),
        _row(2, 10, day, date(2026, 12, 4), date(2026, 12, 7)),
        _row(3, 11, day, day, day),
        _row(4, 10, date(2026, 12, 14), date(2026, 12, 14), date(2026, 12, 14)),
    ]
    draws = group_draws(rows)
    assert [(d.journey_id, d.due_on, d.ids) for d in draws] == [
        (10, day, [1, 2]),
        (11, day, [3]),
        (10, date(2026, 12, 14), [4]),
    ]
    assert (draws[0].window_start, draws[0].window_end) == (date(2026, 12, 4), date(2026, 12, 8))
