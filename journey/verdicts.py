"""Eligibility results and the verdict they give, by criterion origin.

Only a not-met criterion of the product label makes a child "not eligible". A not-met payer or
trial rule gives "meets the label; payer rule not met", a not-met center policy (turned on by
the center) "meets the label; center policy not met". Stored results of checks run before
criterion origin have no "origin" key: they read as label. See docs/eligibility.md.
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import CriterionOrigin, Verdict

MET, NOT_MET, UNKNOWN, NOT_APPLIED = "met", "not_met", "unknown", "not_applied"
LABEL, PAYER, TRIAL, CENTER = (o.value for o in CriterionOrigin)
PAYER_OR_TRIAL = {PAYER, TRIAL}


@dataclass
class CriterionResult:
    code: str
    label: str
    status: str
    explanation: str
    action: str = ""
    retest_on: date | None = None
    flag: str = ""
    postpone: bool = False
    origin: str = LABEL
    origin_note: str = ""

    def as_dict(self):
        return {
            "code": self.code,
            "label": self.label,
            "status": self.status,
            "explanation": self.explanation,
            "action": self.action,
            "retest_on": self.retest_on.isoformat() if self.retest_on else None,
            "flag": self.flag,
            "postpone": self.postpone,
            "origin": self.origin,
            "origin_note": self.origin_note,
        }


@dataclass
class Outcome:
    verdict: str
    results: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)


def _get(result, name, default=None):
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


def origin_of(result):
    """A result's origin (a CriterionResult or a stored dict); missing or unknown: label."""
    origin = _get(result, "origin")
    return origin if origin in CriterionOrigin.values else LABEL


def _failed(result):
    return _get(result, "status") == NOT_MET and not _get(result, "postpone", False)


def _open(result):
    """Missing data, or a postpone: the answer is not known yet."""
    return _get(result, "status") != MET and not _failed(result)


def verdict_for(results):
    """Label failure: not eligible. Label data missing or a postpone: incomplete. Else a failed
    payer or trial rule, then a failed center policy, say so; other missing data: incomplete."""
    applied = [r for r in results if _get(r, "status") != NOT_APPLIED]
    failed = {origin_of(r) for r in applied if _failed(r)}
    if LABEL in failed:
        return Verdict.NOT_ELIGIBLE
    if any(_open(r) and (origin_of(r) == LABEL or _get(r, "postpone")) for r in applied):
        return Verdict.INCOMPLETE
    if failed & PAYER_OR_TRIAL:
        return Verdict.PAYER_RULE_NOT_MET
    if CENTER in failed:
        return Verdict.CENTER_POLICY_NOT_MET
    if any(_open(r) for r in applied):
        return Verdict.INCOMPLETE
    return Verdict.ELIGIBLE


# --------------------------------------------------------------------------- for the admin


@dataclass
class ResultGroup:
    origin: str
    title: str
    rows: list


GROUPS = (
    (LABEL, (LABEL,), gettext_lazy("Product label")),
    (PAYER, (PAYER, TRIAL), gettext_lazy("Payer and trial rules")),
    (CENTER, (CENTER,), gettext_lazy("Center policy")),
)


def grouped(results):
    """Stored results in three groups (label, payer and trial, center), each row with its
    origin's name; the label group is always there, the others only when they have rows."""
    rows = [
        {**r, "origin": origin_of(r), "origin_name": CriterionOrigin(origin_of(r)).label}
        for r in results
    ]
    groups = []
    for key, origins, title in GROUPS:
        members = [r for r in rows if r["origin"] in origins]
        if members or key == LABEL:
            groups.append(ResultGroup(key, str(title), members))
    return groups


def _named(result):
    note = _get(result, "origin_note", "")
    return f"{_get(result, 'label')} ({note})" if note else _get(result, "label")


def summary(verdict, results):
    """The verdict in words, naming the payer, trial or center rules not met (with whose)."""
    text = Verdict(verdict).label if verdict in Verdict.values else verdict
    origins = {
        Verdict.PAYER_RULE_NOT_MET: PAYER_OR_TRIAL,
        Verdict.CENTER_POLICY_NOT_MET: {CENTER},
    }.get(verdict)
    if not origins:
        return str(text)
    names = [_named(r) for r in results if _failed(r) and origin_of(r) in origins]
    return _("%(verdict)s: %(rules)s") % {"verdict": text, "rules": "; ".join(names)}
