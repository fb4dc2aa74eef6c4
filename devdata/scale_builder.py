"""Builds one chunk of scale patients in memory and writes it with bulk_create (devdata.scale)."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from journey.models import (
    STAGE_ORDER,
    Diagnosis,
    Guardian,
    Guardianship,
    InfusionDateChange,
    Journey,
    Patient,
    Stage,
    StageChange,
    User,
)
from tracker import flags, schedule
from tracker.models import (
    ABNORMAL_FLAGS,
    ItemKind,
    LabResult,
    MonitoringPlan,
    PlanItem,
    PlanVersion,
    ScheduledLab,
)
from tracker.services.plans import Label, _item_values

from .demo_results import NORMAL
from .scale_data import (
    AFTER_INFUSION,
    BATCH_SIZE,
    DOMAIN,
    FIRST,
    LAST,
    PORTAL_SHARE,
    PRE_INFUSION,
    STAGE_WEIGHTS,
    UNUSABLE_PASSWORD,
    X_LINKED,
    at,
    days,
)


def _role(primary):
    return Guardianship.Role.PRIMARY if primary else Guardianship.Role.CO_GUARDIAN


class Builder:
    def __init__(self, rng, today, centers, catalogue):
        self.rng, self.today, self.centers, self.cat = rng, today, centers, catalogue

    def uuid(self):
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # -- people --------------------------------------------------------------------------

    def chunk(self, first_index, count):
        """Build and write `count` patients numbered from `first_index`, in one transaction."""
        specs = [self._spec(first_index + i) for i in range(count)]
        with transaction.atomic():
            self._write_people(specs)
            journeys = self._write_journeys(specs)
            self._write_plans(specs, journeys)

    def _spec(self, index):
        rng = self.rng
        center, coordinators = self.centers[index % len(self.centers)]
        stage = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
        is_open = stage in STAGE_ORDER
        therapy = rng.choice(self.cat.approved if is_open else self.cat.all)
        moves, day0, closed_on = self._timeline(stage, therapy.ltfu_years)
        # Early on the therapy is often not chosen yet.
        later = stage in PRE_INFUSION[:2] and rng.random() < 0.3
        chosen = None if later else therapy
        first_day = moves[0][1]
        return {
            "index": index,
            "center": center,
            "by": rng.choice(coordinators),
            "stage": stage,
            "therapy": chosen,
            "condition": rng.choice(self.cat.conditions[therapy.pk]),
            "moves": moves,
            "day0": day0,
            "closed_on": closed_on,
            "born": first_day - days(rng.randint(60, 12 * 365)),
            "sex": rng.choice(["female", "male", "male", "female", "unknown"]),
        }

    def _backwards(self, stages, last_entered):
        """Entry days of consecutive stages ending with the last one entered on last_entered."""
        moves, day = [], last_entered
        for stage in reversed(stages):
            moves.append((stage, day))
            day -= days(self.rng.randint(14, 90))
        return moves[::-1]

    def _timeline(self, stage, ltfu_years):
        """[(stage, day entered)], day 0 (or None) and the day the journey ended (or None)."""
        rng, today = self.rng, self.today
        if stage in AFTER_INFUSION:
            back = {
                Stage.INFUSION: rng.randint(0, 2),
                Stage.MONITORING: rng.randint(3, 364),
                Stage.FOLLOW_UP: rng.randint(365, max(365 * ltfu_years, 366)),
                Stage.CLOSED: 365 * ltfu_years + rng.randint(1, 400),
            }[stage]
            day0 = today - days(back)
            after = [
                (s, day0 + days(d))
                for s, d in zip(AFTER_INFUSION, (0, 1, 365, 365 * ltfu_years), strict=True)
            ]
            after = after[: AFTER_INFUSION.index(stage) + 1]
            moves = self._backwards(PRE_INFUSION, day0 - days(rng.randint(14, 60))) + after
            return moves, day0, after[-1][1] if stage == Stage.CLOSED else None
        if stage == Stage.INFUSION_SCHEDULED:
            moves = self._backwards(PRE_INFUSION, today - days(rng.randint(1, 30)))
            return moves, today + days(rng.randint(3, 60)), None
        if stage in PRE_INFUSION:
            stages = PRE_INFUSION[: PRE_INFUSION.index(stage) + 1]
            return self._backwards(stages, today - days(rng.randint(1, 90))), None, None
        left_from = rng.choice(PRE_INFUSION[:2] if stage == Stage.NOT_ELIGIBLE else PRE_INFUSION)
        exited = today - days(rng.randint(1, 3 * 365))
        stages = PRE_INFUSION[: PRE_INFUSION.index(left_from) + 1]
        moves = self._backwards(stages, exited - days(rng.randint(7, 90)))
        return [*moves, (stage, exited)], None, exited

    def _write_people(self, specs):
        rng, users, guardians, links = self.rng, [], [], []
        patients = []
        for spec in specs:
            center, n = spec["center"], spec["index"]
            last = rng.choice(LAST)
            patient = Patient(
                public_id=self.uuid(),
                center=center,
                first_name=rng.choice(FIRST),
                last_name=last,
                date_of_birth=spec["born"],
                sex=spec["sex"],
                medical_record_number=f"SC{n:07d}",
            )
            patients.append(patient)
            spec["patient"] = patient
            for k in range(1 if rng.random() < 0.45 else 2):
                email = f"g{n:07d}.{k}@{DOMAIN}"
                name = f"{rng.choice(FIRST)} {last}"
                user = None
                if rng.random() < PORTAL_SHARE:
                    user = User(
                        public_id=self.uuid(),
                        email=email,
                        full_name=name,
                        password=UNUSABLE_PASSWORD,
                        time_zone=center.time_zone,
                    )
                    users.append(user)
                guardian = Guardian(
                    public_id=self.uuid(),
                    center=center,
                    full_name=name,
                    email=email,
                    time_zone=center.time_zone,
                    language="es" if rng.random() < 0.15 else "en",
                )
                guardians.append((guardian, user))
                relationship = rng.choice(["mother", "father", "guardian"]) if k == 0 else "other"
                links.append((guardian, patient, relationship, k == 0))
        User.objects.bulk_create(users, batch_size=BATCH_SIZE)
        for guardian, user in guardians:
            guardian.user = user
        Guardian.objects.bulk_create([g for g, _u in guardians], batch_size=BATCH_SIZE)
        Patient.objects.bulk_create(patients, batch_size=BATCH_SIZE)
        Guardianship.objects.bulk_create(
            [
                Guardianship(
                    guardian=g, patient=p, relationship=r, is_primary=primary, role=_role(primary)
                )
                for g, p, r, primary in links
            ],
            batch_size=BATCH_SIZE,
        )
        Diagnosis.objects.bulk_create(
            [self._diagnosis(spec) for spec in specs], batch_size=BATCH_SIZE
        )

    def _diagnosis(self, spec):
        condition = spec["condition"]
        x_linked = condition.code in X_LINKED
        return Diagnosis(
            patient=spec["patient"],
            condition=condition,
            gene=condition.genes.split(",")[0].strip(),
            variant=f"c.{self.rng.randint(20, 2400)}A>G",
            variant_kind=Diagnosis.VariantKind.POINT,
            zygosity="hemizygous" if x_linked else self.rng.choice(["homozygous", "compound_het"]),
            smn2_copies=self.rng.choice([2, 2, 3]) if condition.code == "sma" else None,
            confirmed_by=self.rng.choice(Diagnosis.Method.values),
            confirmed_on=spec["moves"][0][1] - days(self.rng.randint(3, 60)),
            lab="Scale Genomics Laboratory",
            recorded_by=spec["by"],
        )

    # -- journeys and history ------------------------------------------------------------

    def _write_journeys(self, specs):
        journeys = []
        for spec in specs:
            last_stage, last_day = spec["moves"][-1]
            journeys.append(
                Journey(
                    public_id=self.uuid(),
                    patient=spec["patient"],
                    center=spec["center"],
                    therapy=spec["therapy"],
                    stage=last_stage,
                    stage_entered_at=at(last_day),
                    infusion_date=spec["day0"],
                    closed_at=at(spec["closed_on"]) if spec["closed_on"] else None,
                )
            )
        Journey.objects.bulk_create(journeys, batch_size=BATCH_SIZE)
        changes, day0_changes = [], []
        for spec, journey in zip(specs, journeys, strict=True):
            previous = ""
            for stage, day in spec["moves"]:
                changes.append(
                    StageChange(
                        journey=journey,
                        from_stage=previous,
                        to_stage=stage,
                        moved_by=spec["by"],
                        moved_at=at(day),
                        reason="Journey opened" if not previous else "Scale seed",
                    )
                )
                previous = stage
            if spec["day0"]:
                set_on = spec["moves"][PRE_INFUSION.index(Stage.INFUSION_SCHEDULED)][1]
                day0_changes.append(
                    InfusionDateChange(
                        journey=journey,
                        new_date=spec["day0"],
                        changed_by=spec["by"],
                        changed_at=at(set_on),
                        reason="Infusion booked",
                    )
                )
        StageChange.objects.bulk_create(changes, batch_size=BATCH_SIZE)
        InfusionDateChange.objects.bulk_create(day0_changes, batch_size=BATCH_SIZE)
        return journeys

    # -- plans, draws and results --------------------------------------------------------

    def _write_plans(self, specs, journeys):
        planned = [
            (spec, journey)
            for spec, journey in zip(specs, journeys, strict=True)
            if spec["day0"] and spec["therapy"]
        ]
        plans = [
            MonitoringPlan(
                public_id=self.uuid(),
                journey=j,
                therapy=s["therapy"],
                created_at=j.stage_entered_at
                if s["stage"] == Stage.INFUSION_SCHEDULED
                else at(s["day0"] - days(20)),
                **Label.of_therapy(s["therapy"]).plan_fields(),
            )
            for s, j in planned
        ]
        MonitoringPlan.objects.bulk_create(plans, batch_size=BATCH_SIZE)
        versions = [
            PlanVersion(
                plan=plan,
                number=1,
                infusion_date=s["day0"],
                created_by=s["by"],
                created_at=plan.created_at,
                reason="Plan drawn for the infusion date",
            )
            for (s, _j), plan in zip(planned, plans, strict=True)
        ]
        PlanVersion.objects.bulk_create(versions, batch_size=BATCH_SIZE)
        items = []
        for (s, _j), plan in zip(planned, plans, strict=True):
            for position, data in enumerate(self.cat.items[s["therapy"].pk]):
                items.append(
                    (
                        s,
                        plan,
                        data,
                        PlanItem(plan=plan, code=data["code"], **_item_values(data, position)),
                    )
                )
        PlanItem.objects.bulk_create([row for *_x, row in items], batch_size=BATCH_SIZE)
        versions_by_plan = {v.plan_id: v for v in versions}
        draws = self._draws(items, versions_by_plan, {j.pk: j for _s, j in planned})
        ScheduledLab.objects.bulk_create([d[0] for d in draws], batch_size=BATCH_SIZE)
        LabResult.objects.bulk_create(self._results(draws), batch_size=BATCH_SIZE)

    def _draws(self, items, versions, journeys):
        """ScheduledLab rows, each with (spec, collection instant or None)."""
        rows = []
        for spec, plan, data, item in items:
            window = spec["center"].baseline_window_days
            for occ in schedule.expand(data, spec["day0"], window):
                lab = ScheduledLab(
                    public_id=self.uuid(),
                    item=item,
                    journey=journeys[plan.journey_id],
                    center=spec["center"],
                    sequence=occ.sequence,
                    day_offset=occ.day_offset,
                    month_offset=occ.month_offset,
                    due_on=occ.due_on,
                    window_start=occ.window_start,
                    window_end=occ.window_end,
                    version=versions[plan.pk],
                )
                collected = self._outcome(lab, spec)
                if spec["closed_on"] and not (collected or lab.missed_at):
                    lab.cancelled_at = at(spec["closed_on"], 720)  # as ending the journey does
                    lab.cancel_reason = "The journey ended: Closed (follow-up completed)."
                rows.append((lab, spec, collected))
        return rows

    def _outcome(self, lab, spec):
        """Mark a past draw done (returning when it was collected) or missed; else leave open."""
        rng, today = self.rng, self.today
        if lab.due_on >= today:
            return None
        roll = rng.random()
        if lab.window_end < today:
            if roll > 0.97 and not spec["closed_on"]:
                return None  # overdue: nobody has closed it yet
            if roll > 0.93:
                lab.missed_at, lab.missed_by = at(lab.window_end + days(1), 720), spec["by"]
                lab.missed_reason = "The family could not come"
                return None
        elif roll < 0.5:
            return None  # still inside its window
        spread = min((lab.window_end - lab.due_on).days, 3)
        day = min(lab.due_on + days(rng.randint(-spread, spread)), today)
        day = max(day, lab.window_start)
        lab.done_at, lab.done_by = at(day, rng.randint(480, 720)), spec["by"]
        return lab.done_at

    def _results(self, draws):
        results, baselines = [], {}
        for lab, spec, collected in draws:
            tests = lab.item.tests if lab.item.kind == ItemKind.LAB else []
            if collected is None or not tests:
                continue
            journey = lab.journey
            age = flags.age_in_months(spec["born"], collected.date())
            sex = flags.range_sex(spec["sex"])
            own = baselines.setdefault(journey.pk, {})
            for code in tests:
                test = self.cat.tests[code]
                limits = self.cat.limits(code, age, sex)
                value = self._value(test, limits)
                baseline = own.get(code) if not lab.item.baseline else None
                result = LabResult(
                    public_id=self.uuid(),
                    journey=journey,
                    center_id=lab.center_id,
                    test=test,
                    scheduled_lab=lab,
                    value_entered=str(value),
                    unit_entered=test.unit,
                    collected_at=collected,
                    entered_by=spec["by"],
                    entered_at=collected + timedelta(hours=6),
                    **flags.result_fields(test, value, limits, baseline),
                )
                if result.flag in ABNORMAL_FLAGS and result.entered_at.date() < self.today - days(
                    14
                ):
                    result.reviewed_by, result.review_note = spec["by"], "Seen; repeat as planned"
                    result.reviewed_at = result.entered_at + days(1)
                if lab.item.baseline:
                    own[code] = value
                results.append(result)
        return results

    def _value(self, test, limits):
        """Mostly normal; about one in ten high or low, one in fifty far out (often critical)."""
        rng = self.rng
        low = limits.low if limits and limits.low is not None else None
        high = limits.high if limits and limits.high is not None else None
        centre = Decimal(NORMAL.get(test.code, "1"))
        low = low if low is not None else (high / 3 if high else centre * Decimal("0.7"))
        high = high if high is not None else centre * Decimal("1.5")
        roll = rng.random()
        if roll < 0.88:
            number = rng.uniform(float(low), float(high))
        elif roll < 0.98:
            number = (
                float(high) * rng.uniform(1.05, 1.9)
                if roll < 0.94
                else float(low) * rng.uniform(0.6, 0.97)
            )
        else:
            number = (
                float(high) * rng.uniform(2.5, 8)
                if roll < 0.99
                else float(low) * rng.uniform(0.1, 0.5)
            )
        number = min(number, float(test.plausible_max))
        return Decimal(f"{number:.{test.decimal_places}f}")
