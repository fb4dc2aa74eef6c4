"""Plain words for families: stage names, what a stage means, who does a step, step titles,
and what the latest eligibility check means for them.

About a 6th-grade reading level, with the medical term in brackets where it helps.
"""

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from journey import dates
from journey.models import STAGE_ORDER, Responsible, Stage, Verdict

STAGE_NAMES = {
    Stage.DIAGNOSIS_CONFIRMED: _("Confirming the diagnosis"),
    Stage.PRE_TREATMENT: _("Tests before treatment"),
    Stage.INSURANCE: _("Insurance approval"),
    Stage.INFUSION_SCHEDULED: _("Treatment day is planned"),
    Stage.INFUSION: _("Treatment day (infusion)"),
    Stage.MONITORING: _("Check-ups after treatment"),
    Stage.FOLLOW_UP: _("Yearly check-ups"),
    Stage.CLOSED: _("Finished"),
    Stage.WITHDRAWN: _("Stopped"),
    Stage.NOT_ELIGIBLE: _("Not a match for this treatment"),
}

STAGE_MEANINGS = {
    Stage.DIAGNOSIS_CONFIRMED: _(
        "The care team checks the gene test results and that they fit the treatment."
    ),
    Stage.PRE_TREATMENT: _(
        "Your child has blood tests and check-ups to see if the treatment is safe for them."
    ),
    Stage.INSURANCE: _("The care team asks your insurance to pay. This can take a few weeks."),
    Stage.INFUSION_SCHEDULED: _(
        "The treatment day is set. The medicine is ordered and you plan your trip."
    ),
    Stage.INFUSION: _("Your child gets the gene therapy at the hospital."),
    Stage.MONITORING: _(
        "Regular blood tests show how your child is doing. This often lasts about 3 months."
    ),
    Stage.FOLLOW_UP: _("Your child sees the care team about once a year for several years."),
    Stage.CLOSED: _("All follow-up visits are done."),
    Stage.WITHDRAWN: _("The family decided to stop."),
    Stage.NOT_ELIGIBLE: _(
        "The tests showed this treatment is not right for your child now. "
        "Your care team will talk with you about other choices."
    ),
}

WHO = {
    Responsible.FAMILY: _("You"),
    Responsible.COORDINATOR: _("Your care team"),
    Responsible.CLINIC: _("The clinic"),
    Responsible.PAYER: _("Your insurance"),
}

# Checklist steps in family words, by step code; a step not listed shows its own title.
STEP_TITLES = {
    "genetic-report-on-file": _("The care team has the gene test report"),
    "variant-matches-therapy": _("Doctors check that the gene change fits this treatment"),
    "genetic-counselling-offered": _("You are offered a talk with a genetic counselor"),
    "vector-antibody-test": _("Blood test for antibodies that could block the treatment"),
    "baseline-liver-panel": _("Liver blood test before treatment (liver panel)"),
    "baseline-blood-counts": _("Blood count before treatment (CBC, platelets)"),
    "baseline-creatinine": _("Kidney blood test before treatment (creatinine)"),
    "baseline-troponin": _("Heart blood test before treatment (troponin-I)"),
    "infection-screen": _("Blood tests for infections (HIV, hepatitis B and C)"),
    "eligibility-check-passed": _("The care team checks that the treatment fits your child"),
    "family-education-session": _("A meeting to learn about the treatment"),
    "prior-authorization-submitted": _("The care team asks your insurance to approve"),
    "payer-decision-received": _("Your insurance answers"),
    "appeal-filed": _("The care team asks again if insurance says no (appeal)"),
    "approval-letter-on-file": _("The care team has the approval letter"),
    "hydroxyurea-stopped": _("Stop hydroxyurea and similar medicines, as the doctor says"),
    "cells-collected": _("Your child's stem cells are collected and sent to be made"),
    "infusion-date-set": _("The treatment day is set"),
    "product-ordered": _("The medicine is ordered"),
    "steroid-start-date-set": _("The day to start the steroid medicine is set"),
    "pre-infusion-labs-in-window": _("Blood tests shortly before treatment"),
    "travel-lodging-arranged": _("Plan your travel and where you will stay"),
    "admitted": _("Your child checks in to the hospital"),
    "conditioning-given": _("Medicine to make room for the new cells (conditioning)"),
    "infused": _("Your child gets the treatment"),
    "observation-completed": _("Your child is watched for a few hours after treatment"),
    "engraftment-reached": _("The new cells start to grow (engraftment)"),
    "discharged": _("Your child goes home from the hospital"),
    "plan-handed-to-family": _("You get the plan for check-ups and blood tests"),
    "steroid-taper-decision": _("Doctors decide when to lower the steroid medicine"),
    "label-labs-done": _("All blood tests after treatment are done"),
    "registry-enrolment-offered": _("You are asked about joining a long-term study"),
    "yearly-visits-scheduled": _("Yearly visits are planned"),
}


# The latest eligibility check in family words: never "not eligible" (a payer's or the center's
# rule is not the medicine's label, and a label result is for the care team to explain), never
# whose rule it is or the source.
ELIGIBILITY_NOTES = {
    Verdict.ELIGIBLE: _("The care team checked: your child meets the medicine's approved use."),
    Verdict.PAYER_RULE_NOT_MET: _(
        "Your child meets the medicine's approved use. Your insurer also has its own rules; "
        "the care team is working on it."
    ),
    Verdict.CENTER_POLICY_NOT_MET: _(
        "Your child meets the medicine's approved use. Your care center also has some rules of "
        "its own; the care team will talk with you about them."
    ),
    Verdict.INCOMPLETE: _(
        "The care team is still collecting test results to check that the treatment fits "
        "your child."
    ),
    Verdict.NOT_ELIGIBLE: _(
        "The care team is looking closely at your child's results and will talk with you "
        "about them."
    ),
}
# Stages in which the eligibility check is still news for the family.
ELIGIBILITY_STAGES = {Stage.DIAGNOSIS_CONFIRMED, Stage.PRE_TREATMENT, Stage.INSURANCE}


def eligibility_note(journey):
    """What the journey's latest check (annotated as `latest_verdict`) means, or ""."""
    verdict = getattr(journey, "latest_verdict", None)
    if journey.stage not in ELIGIBILITY_STAGES:
        return ""
    return ELIGIBILITY_NOTES.get(verdict, "")


def stage_name(stage):
    return STAGE_NAMES.get(stage, stage)


def step_title(step):
    return STEP_TITLES.get(step.code, step.title)


def day(value):
    """A date in the active language's long format ("Feb. 3, 2026"), or "" for none.

    A moment (datetime) is shown on the reader's own calendar day, as the |date filter does."""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return dates.date_text(value) if value else ""


def timeline_tag(state):
    """A timeline stage's state as a mark and a word, never colour alone (only that state's
    word translated: a timeline has seven stages)."""
    mark, word = _TIMELINE_TAGS.get(state, _LATER)
    return mark + gettext(word)


_TIMELINE_TAGS = {
    "done": ("✓ ", gettext_noop("Done")),
    "current": ("● ", gettext_noop("Now")),
    "next": ("", gettext_noop("Next")),
    "ended": ("", gettext_noop("Ended")),
}
_LATER = ("", gettext_noop("Later"))


def timeline_date(state, at):
    """ "since Feb. 3, 2026" for the current stage; "on ..." for the day a stage was done
    (left) or the journey ended."""
    if state == "current":
        return gettext("since %(date)s") % {"date": day(at)}
    return gettext("on %(date)s") % {"date": day(at)}


# ---------------------------------------------------------------- "call now" (one helper)


def tel_href(phone):
    """ "tel:+15550102000" from "+1 (555) 010-2000": digits and a leading plus; "" for none."""
    phone = str(phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return ""
    return f"tel:{'+' if phone.startswith('+') else ''}{digits}"


def urgent_line(entry, language=None):
    """One "call now" line ({"en": ..., "es": ...}) in the language, else English."""
    if not isinstance(entry, dict):
        return str(entry or "")
    language = (language or get_language() or "en").split("-")[0]
    return entry.get(language) or entry.get("en") or next(iter(entry.values()), "")


def urgent_lines(therapy, language=None):
    """The therapy's "call now" signs in the reader's language (the active one by default).

    The one helper for every page that says when to call (care plan, emergency card, the
    coordinator's plan page).
    """
    entries = getattr(therapy, "urgent_symptoms", None) or []
    return [line for line in (urgent_line(e, language) for e in entries) if line]


# The therapy's "call now" signs are about the days after the infusion (and the steroid,
# which starts up to a week before it): shown from this many days before the infusion day.
SIGNS_FROM = timedelta(days=14)


def signs_due(journey, today):
    """Whether the post-infusion warning signs belong on the family's pages yet."""
    if journey is None:
        return False
    if journey.stage in STAGE_ORDER[STAGE_ORDER.index(Stage.INFUSION) :]:
        return True
    return journey.infusion_date is not None and today >= journey.infusion_date - SIGNS_FROM


def before_infusion(journey):
    """The stages from the current one to the treatment day, as (name, meaning, is_now), for
    a family whose child has not had the infusion yet; [] once it is near or done."""
    if journey is None or journey.stage not in STAGE_ORDER:
        return []
    now = STAGE_ORDER.index(journey.stage)
    last = STAGE_ORDER.index(Stage.INFUSION)
    return [
        (stage_name(stage), STAGE_MEANINGS.get(stage, ""), index == now)
        for index, stage in enumerate(STAGE_ORDER[: last + 1])
        if index >= now
    ]


# Staff and catalogue notes ("verify", sources, label talk, limits in x ULN) that a catalogue
# text may carry: never shown to a family (issue 13 item 10).
STAFF_NOTE = re.compile(
    r"\bverif|\bunverified\b|\bsources?\b|\blabel\b|\bULN\b|\btemplate\b|hepatolog"
    r"|Waypoint default|https?://",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def family_text(text):
    """Catalogue text for families: the sentences that carry no staff or catalogue note
    (paragraphs kept)."""
    paragraphs = [
        " ".join(s for s in _SENTENCE_END.split(p.strip()) if s and not STAFF_NOTE.search(s))
        for p in (text or "").split("\n")
    ]
    return "\n".join(p for p in paragraphs if p)
