"""What scale rows are made of: names, shares, the catalogue read once, and date helpers."""

from datetime import UTC, datetime, time, timedelta

from journey.models import STAGE_ORDER, MarketStatus, Patient, Stage, Therapy
from tracker import flags
from tracker.models import LabTest
from tracker.services.plans import schedule_items

CENTER_PREFIX = "Scale center "
DOMAIN = "scale.waypoint.test"
UNUSABLE_PASSWORD = "!scale-seed"  # starts with "!": Django never accepts it
BATCH_SIZE = 2000
CHUNK_PATIENTS = 500
COORDINATORS_PER_CENTER = 3
PORTAL_SHARE = 0.4  # guardians with a portal login
ZONES = ["America/New_York", "Europe/London", "Europe/Madrid", "America/Chicago", "UTC"]
FIRST = ["Maya", "Leo", "Ava", "Noah", "Lucia", "Omar", "Emma", "Liam", "Sofia", "Mateo", "Zoe"]
LAST = ["Garcia", "Smith", "Okafor", "Nguyen", "Kowalski", "Haddad", "Silva", "Brown", "Khan"]
X_LINKED = {"dmd", "hemophilia-b", "cald"}
# Share of journeys in each stage: most families are in monitoring or long-term follow-up.
STAGE_WEIGHTS = {
    Stage.DIAGNOSIS_CONFIRMED: 9,
    Stage.PRE_TREATMENT: 9,
    Stage.INSURANCE: 7,
    Stage.INFUSION_SCHEDULED: 5,
    Stage.INFUSION: 2,
    Stage.MONITORING: 20,
    Stage.FOLLOW_UP: 33,
    Stage.CLOSED: 5,
    Stage.WITHDRAWN: 6,
    Stage.NOT_ELIGIBLE: 4,
}
PRE_INFUSION = STAGE_ORDER[:4]
AFTER_INFUSION = [Stage.INFUSION, Stage.MONITORING, Stage.FOLLOW_UP, Stage.CLOSED]


def days(n):
    return timedelta(days=n)


def at(day, minutes=600):
    """An aware instant on `day`, `minutes` after midnight UTC."""
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=minutes)


def scale_patients():
    return Patient.objects.filter(center__name__startswith=CENTER_PREFIX)


class Catalogue:
    """The therapies, their plan items and the lab tests, read once."""

    def __init__(self):
        therapies = list(Therapy.objects.prefetch_related("conditions").order_by("slug"))
        if not therapies or not LabTest.objects.exists():
            raise LookupError("Load the catalogues first: manage.py load_catalogue; load_labs.")
        self.all = therapies
        self.approved = [t for t in therapies if t.market_status == MarketStatus.APPROVED]
        self.conditions = {t.pk: list(t.conditions.all()) for t in therapies}
        self.items = {t.pk: schedule_items(t) for t in therapies}
        tests = LabTest.objects.prefetch_related("ranges")
        self.tests = {t.code: t for t in tests}
        self.ranges = {t.code: list(t.ranges.all()) for t in tests}
        self._limits = {}

    def limits(self, code, age_months, sex):
        """The reference range as record_results would pick it (cached per age and sex)."""
        key = (code, age_months, sex)
        if key not in self._limits:
            band = flags.pick_range(self.ranges[code], age_months, sex)
            if band is not None and not isinstance(band, flags.Limits):
                test = self.tests[code]
                band = flags.Limits(
                    band.low,
                    band.high,
                    band.critical_low,
                    band.critical_high,
                    test.unit,
                    band.source,
                )
            self._limits[key] = band
        return self._limits[key]
