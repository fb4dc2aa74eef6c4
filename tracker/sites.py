"""Where a draw happens, in words a family can act on: a place's name, address and phone.

Pure: the callers fetch the rows with `local_lab`, and pass the plan's default lab (or None)
and the center. A row's empty site follows the plan's default; a draw's site is its first
row's (tracker.services.sites sets every row of a draw together).
"""

from dataclasses import dataclass

from .models_sites import ResultSender, SiteChoice


@dataclass(frozen=True)
class Place:
    name: str
    address: str = ""
    phone: str = ""
    at_center: bool = False

    @property
    def text(self) -> str:
        """ "Quest Lab, 12 Main St, 555-0100": one line for a calendar or an email."""
        return ", ".join(part for part in (self.name, self.address, self.phone) if part)


def center_place(center) -> Place:
    return Place(center.name, phone=center.main_phone, at_center=True)


def lab_place(lab) -> Place:
    return Place(lab.name, lab.address, lab.phone)


def place_for(row, default_lab, center) -> Place:
    """The place of one scheduled row (its own site, else the plan's default)."""
    if row.site == SiteChoice.LOCAL_LAB and row.local_lab is not None:
        return lab_place(row.local_lab)
    if row.site == SiteChoice.CENTER or default_lab is None:
        return center_place(center)
    return lab_place(default_lab)


def draw_place(draw, default_lab, center) -> Place:
    """A draw's place: its rows' (the first row speaks for the draw)."""
    return place_for(draw.rows[0], default_lab, center)


def sender_for(row, default_sender) -> str:
    """Who sends the row's result (a ResultSender value)."""
    return row.result_sender or default_sender or ResultSender.LAB_INTERFACE
