"""factory_boy factories for the journey domain."""

import datetime as dt

import factory
from django.utils import timezone

from journey import models as m
from journey.roles import COORDINATOR_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery")


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Center

    name = factory.Sequence(lambda n: f"Center {n}")
    time_zone = "America/New_York"
    main_phone = "+1 555 0100"
    after_hours_phone = "+1 555 0199"


class CoordinatorFactory(UserFactory):
    """A staff user who is a coordinator at `center` (pass center=...)."""

    is_staff = True

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def center(self, create, extracted, **kwargs):
        from django.contrib.auth.models import Group

        from journey.roles import sync_coordinator_group

        group = Group.objects.filter(name=COORDINATOR_GROUP).first() or sync_coordinator_group()
        self.groups.add(group)
        m.Membership.objects.create(user=self, center=extracted or CenterFactory())


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Guardian

    center = factory.SubFactory(CenterFactory)
    full_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"guardian{n}@example.org")
    time_zone = "America/New_York"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Patient

    center = factory.SubFactory(CenterFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=200))
    sex = m.people.Sex.MALE


class GuardianshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Guardianship

    patient = factory.SubFactory(PatientFactory)
    guardian = factory.SubFactory(GuardianFactory, center=factory.SelfAttribute("..patient.center"))
    relationship = m.Guardianship.Relationship.MOTHER
    is_primary = False  # the older spelling: is_primary=True asks for the primary role
    role = factory.LazyAttribute(
        lambda o: m.Guardianship.Role.PRIMARY if o.is_primary else m.Guardianship.Role.CO_GUARDIAN
    )


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Condition
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"condition-{n}")
    name = factory.Sequence(lambda n: f"Condition {n}")
    genes = "SMN1"


class DiagnosisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Diagnosis

    patient = factory.SubFactory(PatientFactory)
    condition = factory.SubFactory(ConditionFactory)
    gene = "SMN1"
    variant = "exon 7 deletion"
    variant_kind = m.Diagnosis.VariantKind.DELETION
    zygosity = m.Diagnosis.Zygosity.HOMOZYGOUS
    confirmed_by = m.Diagnosis.Method.GENOME
    confirmed_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    lab = "Genomics Lab"


class JourneyFactory(factory.django.DjangoModelFactory):
    """A journey built directly (tests of services use journey.services.open_journey)."""

    class Meta:
        model = m.Journey

    patient = factory.SubFactory(PatientFactory)
    center = factory.SelfAttribute("patient.center")
    stage = m.Stage.DIAGNOSIS_CONFIRMED
    stage_entered_at = factory.LazyFunction(timezone.now)


class TherapyFactory(factory.django.DjangoModelFactory):
    """A made-up therapy; tests of real label facts use the loaded catalogue instead."""

    class Meta:
        model = m.Therapy
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"therapy-{n}")
    name = factory.Sequence(lambda n: f"Therapy {n}")
    generic_name = "testogene"
    delivery = m.Delivery.IN_VIVO
    vector_type = m.VectorType.AAV
    vector = "AAV9"
    route = "IV"
    market_status = m.MarketStatus.APPROVED
    label_as_of = dt.date(2025, 1, 1)
    source = "test"
    ltfu_years = 5


class StepTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StepTemplate
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"step-{n}")
    stage = m.Stage.DIAGNOSIS_CONFIRMED
    title = factory.Sequence(lambda n: f"Step {n}")
    responsible = m.Responsible.COORDINATOR
    required = True
