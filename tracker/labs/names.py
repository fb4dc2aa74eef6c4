"""Catalogue words families read: lab names and plan item titles.

They are data (tracker/labs/catalogue.json, journey/catalogue/therapies.json), shown through
tracker.portal.wording.data_text, which looks them up in the translation catalogue. Listing
them here lets `make messages` extract them; tests/test_i18n.py fails when one is missing.
"""

from django.utils.translation import gettext_noop

LAB_NAMES = [
    gettext_noop("blood clotting test (INR)"),
    gettext_noop("blood count (hemoglobin)"),
    gettext_noop("clotting factor test (factor IX)"),
    gettext_noop("heart test (troponin)"),
    gettext_noop("infection-fighting cells (ANC)"),
    gettext_noop("kidney test (creatinine)"),
    gettext_noop("liver and bone test (ALP)"),
    gettext_noop("liver cancer screening test (AFP)"),
    gettext_noop("liver test (ALT)"),
    gettext_noop("liver test (AST)"),
    gettext_noop("liver test (GGT)"),
    gettext_noop("liver test (bilirubin)"),
    gettext_noop("platelet count (PLT)"),
]

PLAN_TITLES = [
    gettext_noop("Blood count (CBC)"),
    gettext_noop("Blood counts in hospital until the new cells take (engraftment)"),
    gettext_noop("Blood tests before conditioning"),
    gettext_noop("Blood tests before the infusion"),
    gettext_noop("Check-up after surgery"),
    gettext_noop("Eye check"),
    gettext_noop("Eye check (gas bubble gone?)"),
    gettext_noop("Eye check the day after surgery"),
    gettext_noop("Heart test (troponin-I)"),
    gettext_noop("Integration site analysis"),
    gettext_noop("Liver test and factor IX level"),
    gettext_noop("Liver tests"),
    gettext_noop("Liver tests and factor IX level"),
    gettext_noop("Movement and development review"),
    gettext_noop("Platelet count"),
    gettext_noop("Steroid taper decision"),
    gettext_noop("Test for clonal expansion"),
    gettext_noop("Wound check"),
]
