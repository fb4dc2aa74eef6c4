"""Users, centers, families and the facts recorded about a child."""

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value):
    """A time zone must be an IANA name zoneinfo knows ("Europe/London")."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("“%(value)s” is not a time zone name like “America/New_York”."),
            params={"value": value},
        ) from exc


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SPANISH = "es", _("Spanish")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who logs in: coordinators (staff), guardians and administrators."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ResultRelease(models.TextChoices):
    """When a family sees a new result. Immediately is the default (the US 21st Century Cures
    Act); a center whose written policy allows may hold results outside the range until its
    care team has reviewed them (every other result still shows at once)."""

    IMMEDIATE = "immediate", _("Immediately, every result")
    FLAGGED_AFTER_REVIEW = "flagged_after_review", _("Results outside the range after review")


class Center(models.Model):
    """A treatment center. Its coordinators see only its patients."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    main_phone = models.CharField(_("main phone"), max_length=40)
    after_hours_phone = models.CharField(_("after-hours phone"), max_length=40)
    baseline_window_days = models.PositiveSmallIntegerField(
        _("baseline lab window (days before infusion)"), default=30
    )
    result_release = models.CharField(
        _("families see results"),
        max_length=24,
        choices=ResultRelease.choices,
        default=ResultRelease.IMMEDIATE,
    )
    result_release_policy = models.CharField(
        _("policy that allows holding results"),
        max_length=200,
        blank=True,
        help_text=_(
            "Required to hold results: the center's policy, e.g. 'Lab results policy 4.2'."
        ),
    )
    # The acknowledgement clock of an abnormal result (tracker.acknowledge): business hours
    # (Monday to Friday, 9:00 to 17:00 in the center's zone); a critical one runs on the clock.
    ack_abnormal_hours = models.PositiveSmallIntegerField(
        _("acknowledge an abnormal result within (business hours)"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    ack_critical_hours = models.PositiveSmallIntegerField(
        _("acknowledge a critical result within (hours, any time)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("center")
        verbose_name_plural = _("centers")
        constraints = [
            # Holding results back is allowed only where a written policy says so.
            models.CheckConstraint(
                condition=Q(result_release="immediate") | ~Q(result_release_policy=""),
                name="center_held_results_need_policy",
                violation_error_message=_("Name the policy that allows holding results."),
            ),
            models.CheckConstraint(
                condition=Q(ack_abnormal_hours__gte=1, ack_critical_hours__gte=1),
                name="center_ack_hours_positive",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def holds_flagged_results(self):
        return self.result_release == ResultRelease.FLAGGED_AFTER_REVIEW


class Membership(models.Model):
    """A coordinator's membership of a center; it decides what they may see."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("Care coordinator")
        CLINICIAN = "clinician", _("Clinician")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    center = models.ForeignKey(Center, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COORDINATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "center"], name="membership_unique_user_center")
        ]
        verbose_name = _("center membership")
        verbose_name_plural = _("center memberships")

    def __str__(self):
        return f"{self.user} @ {self.center}"


class Guardian(models.Model):
    """A parent or guardian. The login account is linked when they accept an invitation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="guardians", verbose_name=_("center")
    )
    full_name = models.CharField(_("full name"), max_length=150)
    email = models.EmailField(_("email"), unique=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    user = models.OneToOneField(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian",
        verbose_name=_("login account"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")

    def __str__(self):
        return self.full_name

    def clean(self):
        super().clean()
        if self.email:
            self.email = self.email.strip().lower()


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Not recorded")


class Patient(models.Model):
    """A child (or adult) on a gene therapy path at one center."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="patients", verbose_name=_("center")
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    medical_record_number = models.CharField(_("medical record number"), max_length=40, blank=True)
    guardians = models.ManyToManyField(
        Guardian, through="Guardianship", related_name="children", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [
            # The admin patient list: one center's patients by name.
            models.Index(fields=["center", "last_name", "first_name"], name="patient_center_name"),
            # ... and every center's (a superuser), in the changelist's order (name, then -pk):
            # the page is read off the index instead of sorting every patient.
            models.Index(fields=["last_name", "first_name", "-id"], name="patient_name_order"),
            # The age sweep: one center's patients born in a window (journey.custody.ages).
            models.Index(fields=["center", "date_of_birth"], name="patient_center_born"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    def clean(self):
        super().clean()
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError(
                {"date_of_birth": _("The date of birth cannot be in the future.")}
            )


class Guardianship(models.Model):
    """Links a guardian to a child; a child may have several guardians and vice versa."""

    class Relationship(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        LEGAL_GUARDIAN = "guardian", _("Legal guardian")
        OTHER = "other", _("Other carer")
        SELF = "self", _("The patient themselves")

    class Role(models.TextChoices):
        """What the guardian may do in the portal (journey.access.can_act decides)."""

        PRIMARY = "primary", _("Primary guardian")
        CO_GUARDIAN = "co_guardian", _("Co-guardian")
        VIEW_ONLY = "view_only", _("View only")

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="guardianships")
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=Relationship.choices, default=Relationship.OTHER
    )
    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.CO_GUARDIAN
    )
    # Derived from the role on save (the reminders and pages read it); the constraint below
    # holds the two together for writes that skip save() (bulk_create, update).
    is_primary = models.BooleanField(_("primary contact"), default=False, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_primary=True, role="primary")
                | (Q(is_primary=False) & ~Q(role="primary")),
                name="guardianship_primary_is_role",
            ),
            models.UniqueConstraint(
                fields=["guardian", "patient"],
                name="guardianship_unique_pair",
                violation_error_message=_("This guardian is already linked to this child."),
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(is_primary=True),
                name="guardianship_one_primary_per_patient",
                violation_error_message=_(
                    "A child has one primary guardian; make the other a co-guardian."
                ),
            ),
        ]
        verbose_name = _("guardian of this child")
        verbose_name_plural = _("guardians of this child")

    def __str__(self):
        return f"{self.guardian} → {self.patient}"

    def save(self, *args, **kwargs):
        self.is_primary = self.role == self.Role.PRIMARY
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_primary"}
        super().save(*args, **kwargs)


class Diagnosis(models.Model):
    """The confirmed genetic diagnosis behind a journey."""

    class Method(models.TextChoices):
        EXOME = "exome", _("Exome sequencing")
        GENOME = "genome", _("Genome sequencing")
        PANEL = "panel", _("Gene panel")
        TARGETED = "targeted", _("Disease-specific test")

    class Zygosity(models.TextChoices):
        HOMOZYGOUS = "homozygous", _("Homozygous (bi-allelic)")
        COMPOUND_HETEROZYGOUS = "compound_het", _("Compound heterozygous (bi-allelic)")
        HETEROZYGOUS = "heterozygous", _("Heterozygous (one copy)")
        HEMIZYGOUS = "hemizygous", _("Hemizygous (X-linked)")

    class VariantKind(models.TextChoices):
        DELETION = "deletion", _("Deletion")
        DUPLICATION = "duplication", _("Duplication")
        POINT = "point", _("Point mutation")
        OTHER = "other", _("Other")

    BIALLELIC = (Zygosity.HOMOZYGOUS, Zygosity.COMPOUND_HETEROZYGOUS)

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="diagnoses")
    condition = models.ForeignKey(
        "journey.Condition", on_delete=models.PROTECT, verbose_name=_("condition")
    )
    gene = models.CharField(_("gene"), max_length=30)
    variant = models.CharField(_("variant (HGVS)"), max_length=200)
    variant_kind = models.CharField(
        _("variant kind"), max_length=20, choices=VariantKind.choices, default=VariantKind.OTHER
    )
    zygosity = models.CharField(_("zygosity"), max_length=20, choices=Zygosity.choices)
    exon_start = models.PositiveSmallIntegerField(_("first exon affected"), null=True, blank=True)
    exon_end = models.PositiveSmallIntegerField(_("last exon affected"), null=True, blank=True)
    genotype = models.CharField(
        _("genotype"), max_length=40, blank=True, help_text=_("For example HbSS or β-S/β-0.")
    )
    smn2_copies = models.PositiveSmallIntegerField(_("SMN2 copy number"), null=True, blank=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=20, choices=Method.choices)
    confirmed_on = models.DateField(_("confirmed on"))
    lab = models.CharField(_("testing laboratory"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-confirmed_on"]
        verbose_name = _("genetic diagnosis")
        verbose_name_plural = _("genetic diagnoses")
        constraints = [
            models.CheckConstraint(
                condition=Q(exon_start__isnull=True)
                | Q(exon_end__isnull=True)
                | Q(exon_start__lte=F("exon_end")),
                name="diagnosis_exon_range_ordered",
                violation_error_message=_("The last exon must not come before the first."),
            ),
            models.CheckConstraint(
                condition=Q(exon_start__isnull=True) | Q(exon_start__gte=1),
                name="diagnosis_exon_start_positive",
            ),
        ]

    def __str__(self):
        return f"{self.condition} ({self.gene} {self.variant})"

    @property
    def is_biallelic(self):
        return self.zygosity in self.BIALLELIC

    def clean(self):
        super().clean()
        errors = {}
        if self.confirmed_on and self.confirmed_on > timezone.localdate():
            errors["confirmed_on"] = _("The confirmation date cannot be in the future.")
        if self.exon_start and self.exon_end and self.exon_start > self.exon_end:
            errors["exon_end"] = _("The last exon must not come before the first.")
        if errors:
            raise ValidationError(errors)


class Finding(models.Model):
    """A test result or observation used by the eligibility check (titer, ambulatory...)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="findings")
    finding_type = models.ForeignKey(
        "journey.FindingType", on_delete=models.PROTECT, verbose_name=_("what was tested")
    )
    value = models.CharField(
        _("result"), max_length=100, help_text=_("A titer as 1:50, a number, yes/no, or a choice.")
    )
    value_number = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, editable=False
    )
    observed_on = models.DateField(_("date of the test"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-observed_on", "-recorded_at"]
        verbose_name = _("test result for eligibility")
        verbose_name_plural = _("test results for eligibility")
        indexes = [
            # The eligibility check: a patient's latest finding of each type.
            models.Index(fields=["patient", "finding_type", "-observed_on"], name="finding_latest"),
        ]

    def __str__(self):
        return f"{self.finding_type}: {self.value} ({self.observed_on})"

    def clean(self):
        """Parse the value by its type; a bad value is a message on the field."""
        super().clean()
        if self.observed_on and self.observed_on > timezone.localdate():
            raise ValidationError({"observed_on": _("The test date cannot be in the future.")})
        if self.finding_type_id and self.value:
            self.value, self.value_number = self.finding_type.parse(self.value)
