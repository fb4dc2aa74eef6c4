"""English and Spanish: every user-facing string is in the Spanish catalogue, translated, and
the committed .mo matches the .po; a Spanish guardian reads the portal and the reminder emails
in Spanish, an English guardian in English. See docs/i18n.md.

The catalogue check runs `manage.py makemessages -l es` on a temporary copy of the source
(never on the checkout), so it fails as soon as someone adds a string without translating it,
listing every such string. It needs GNU gettext (xgettext, msgmerge, msgfmt): missing in CI
that is a failure, elsewhere a skip.
"""

import ast
import datetime as dt
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from notifications import emails
from notifications.models import Kind, Reminder
from tests import factories_portal as fp
from tests.factories_notifications import Family
from tracker import services as tracker_services

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The same list as the Makefile's `messages` target.
IGNORES = [".venv", "node_modules", "staticfiles", "var", "tests", "bench"]


@pytest.fixture
def gettext_tools():
    missing = [t for t in ("xgettext", "msgmerge", "msgfmt") if shutil.which(t) is None]
    if missing:
        message = f"GNU gettext is not installed ({', '.join(missing)}): apt-get install gettext"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def parse_po(path):
    """The entries of a .po file as dicts: msgid, msgid_plural, msgstr ({form: text}), flags,
    ref (the first source reference). Obsolete (#~) entries are left out; the header (msgid "")
    is kept."""
    text = Path(path).read_text(encoding="utf-8")
    blocks = [b.splitlines() for b in re.split(r"\n\s*\n", text)]
    entries = [_entry([line.strip() for line in b if not line.startswith("#~")]) for b in blocks]
    return [e for e in entries if e is not None]


def _entry(lines):
    if not any(line.startswith("msgid") for line in lines):
        return None
    entry = {"msgid": "", "msgid_plural": None, "msgstr": {}, "flags": set(), "ref": ""}
    field = None
    for line in lines:
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#:"):
            entry["ref"] = entry["ref"] or line[2:].split()[0]
        elif line.startswith('"'):
            target = entry["msgstr"] if isinstance(field, int) else entry
            target[field] += ast.literal_eval(line)
        elif line and not line.startswith("#"):
            keyword, _, value = line.partition(" ")
            form = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
            field = int(form.group(1) or 0) if form else keyword
            target = entry["msgstr"] if form else entry
            target[field] = ast.literal_eval(value)
    return entry


def untranslated(entries):
    """'where: msgid' for every entry that is empty (any plural form) or fuzzy."""
    bad = []
    for e in entries:
        if e["msgid"] == "":
            continue
        forms = list(e["msgstr"].values())
        if "fuzzy" in e["flags"] or not forms or not all(forms):
            bad.append(f"{e['ref']}: {e['msgid']!r}")
    return bad


def test_parse_po_reads_flags_plurals_and_continuations(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgid "Hi %(n)s"\nmsgstr "Hola %(n)s"\n\n'
        '#: b.html:2\nmsgid "one"\nmsgid_plural "many"\nmsgstr[0] "uno"\nmsgstr[1] ""\n\n'
        '#: c.py:3\nmsgid ""\n"long \\"quoted\\" "\n"text"\nmsgstr "texto"\n\n'
        '#~ msgid "old"\n#~ msgstr "viejo"\n',
        encoding="utf-8",
    )
    entries = parse_po(po)
    assert [e["msgid"] for e in entries] == ["", "Hi %(n)s", "one", 'long "quoted" text']
    assert entries[0]["msgstr"] == {0: "Language: es\n"}
    assert untranslated(entries) == ["a.py:1: 'Hi %(n)s'", "b.html:2: 'one'"]


def test_every_string_in_the_source_has_a_spanish_translation(tmp_path, gettext_tools):
    """makemessages on a copy of today's source, merged into the committed catalogue."""
    copy = tmp_path / "src"
    copy.mkdir()
    shutil.copy2(ROOT / "manage.py", copy / "manage.py")
    shutil.copytree(ROOT / "locale", copy / "locale")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    shutil.copytree(ROOT / "templates", copy / "templates", ignore=junk)
    for package in sorted(ROOT.iterdir()):
        if package.name not in IGNORES and (package / "__init__.py").exists():
            shutil.copytree(package, copy / package.name, ignore=junk)
    command = [sys.executable, "manage.py", "makemessages", "-l", "es", "--no-obsolete"]
    command += [f"--ignore={name}" for name in IGNORES]
    done = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    bad = untranslated(parse_po(copy / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    assert not bad, (
        f"{len(bad)} string(s) have no Spanish translation (empty or fuzzy). Run `make messages`,"
        " translate them in locale/es/LC_MESSAGES/django.po (see docs/i18n.md), run"
        " `make messages` again and commit the .po and the .mo:\n  " + "\n  ".join(bad)
    )


def test_the_committed_catalogue_is_complete_and_valid(gettext_tools):
    """msgfmt --check: placeholders kept, plural forms match the header, no syntax errors."""
    done = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not untranslated(parse_po(PO))
    header = parse_po(PO)[0]["msgstr"][0]
    assert "Language: es\n" in header and "nplurals=3" in header


def test_the_committed_mo_is_compiled_from_the_committed_po(tmp_path, gettext_tools):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(PO)], check=True)
    with MO.open("rb") as committed, fresh.open("rb") as compiled:
        ours = gettext.GNUTranslations(committed)._catalog
        theirs = gettext.GNUTranslations(compiled)._catalog
    stale = sorted(str(k) for k in set(ours.items()) ^ set(theirs.items()))
    assert not stale, (
        "locale/es/LC_MESSAGES/django.mo is out of date: run `make messages` and commit it.\n"
        + "\n".join(stale[:20])
    )


def test_placeholders_survive_translation():
    """Every %(name)s / {name} / %s / HTML tag of the English is in the Spanish, and no more."""
    token = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}|</?[a-z][^>]*>")
    bad = []
    for e in parse_po(PO)[1:]:
        sources = [e["msgid"]] + ([e["msgid_plural"]] if e["msgid_plural"] else [])
        expected = sorted(set(sum((token.findall(s) for s in sources), [])))
        for form in e["msgstr"].values():
            if sorted(set(token.findall(form))) != expected:
                bad.append(f"{e['ref']}: {e['msgid']!r} -> {form!r}")
    assert not bad, "\n".join(bad)


# Behaviour: the guardian's language, end to end.


@pytest.fixture
def spanish_family(client, center_a, coordinator_a):
    guardian, child = fp.family(center_a, email="sofia@example.org", language="es")
    fp.journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    return client, child


@pytest.fixture
def english_family(client, center_a, coordinator_a):
    guardian, child = fp.family(center_a, email="emma@example.org", language="en")
    fp.journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    return client, child


def _get(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_a_spanish_guardian_reads_the_portal_in_spanish(spanish_family):
    client, child = spanish_family
    home = _get(client, "portal:home")
    assert '<html lang="es">' in home
    assert "Confirmando el diagnóstico" in home  # the stage, in plain words
    assert "Próximo paso" in home and "Mis hijos" in home
    assert "Confirming the diagnosis" not in home and "Next step" not in home

    page = _get(client, "portal:child", child.public_id)
    assert "El camino de Mia" in page
    assert "Dónde estamos ahora" in page and "Todo el camino" in page
    assert "Confirmando el diagnóstico" in page
    assert "Where we are now" not in page and "The whole journey" not in page


def test_an_english_guardian_reads_the_portal_in_english(english_family):
    client, child = english_family
    home = _get(client, "portal:home")
    assert '<html lang="en">' in home
    assert "Confirming the diagnosis" in home and "Next step" in home
    page = _get(client, "portal:child", child.public_id)
    assert "Where we are now" in page and "The whole journey" in page
    assert "Dónde estamos ahora" not in page


@pytest.mark.parametrize(
    "language, subject, body",
    [
        (
            "es",
            "Recordatorio: una toma de sangre para Mia",
            "Mia tiene una toma de sangre el 10 de marzo de 2025.",
        ),
        ("en", "Reminder: a lab draw for Mia", "Mia has a lab draw coming up on March 10, 2025."),
    ],
)
def test_a_reminder_email_is_in_the_guardians_language(db, language, subject, body):
    family = Family(father_tz=None)
    family.mother.language = language
    family.mother.save(update_fields=["language"])
    lab = family.lab(dt.date(2025, 3, 10))
    reminder = Reminder(
        key="i18n:test",
        kind=Kind.LAB_REMINDER,
        guardian=family.mother,
        center=family.center,
        patient=family.patient,
        journey=family.journey,
        scheduled_lab=lab,
        due_on=lab.due_on,
        send_at=dt.datetime(2025, 3, 9, 14, tzinfo=dt.UTC),
        time_zone="America/New_York",
    )
    message = emails.build(reminder)
    html = message.alternatives[0][0]
    assert message.subject == subject
    assert body in message.body and body in html
    if language == "es":
        assert "Hola:" in message.body
        assert "Entre para ver los detalles" in message.body
        assert "Reminder" not in message.subject and "coming up" not in message.body


def test_every_urgent_symptom_line_in_the_catalogue_has_spanish():
    """Catalogue data is not in the .po: its family-facing lines carry their own "es"."""
    therapies = json.loads((ROOT / "journey" / "catalogue" / "therapies.json").read_text())
    missing = [
        f"{t['slug']}: {line.get('en')!r}"
        for t in therapies
        for line in t.get("urgent_symptoms", [])
        if not line.get("es")
    ]
    assert not missing, "\n".join(missing)


def test_the_emergency_card_lists_the_signs_in_spanish(spanish_family, coordinator_a):
    client, child = spanish_family
    # The signs are shown once the infusion is near (issue 13 item 10).
    from journey.services import set_infusion_date

    journey = child.journeys.get()
    day0 = timezone.localdate() + dt.timedelta(days=7)
    set_infusion_date(journey, day0, by=coordinator_a, reason="booked")
    card = _get(client, "portal:card", child.public_id)
    assert "Piel amarilla, o la parte blanca de los ojos amarilla (ictericia)" in card
    assert "Yellow skin" not in card


def test_the_error_page_follows_the_active_language():
    """500.html renders with no request context; it still says which language it is in."""
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("es"):
        html = render_to_string("500.html")
    assert '<html lang="es">' in html and "Algo salió mal de nuestro lado" in html


def test_lab_names_and_plan_titles_from_the_catalogue_are_in_spanish(spanish_family):
    """Catalogue data families read (tracker/labs/names.py) follows their language too."""
    client, child = spanish_family
    journey = child.journeys.get()
    journey.infusion_date = timezone.localdate() - timezone.timedelta(days=10)
    journey.save()
    tracker_services.generate_plan(journey, reason="test")
    collected = timezone.now() - timezone.timedelta(days=3)
    tracker_services.record_results(journey, collected, [("ALT", "40", "U/L")], by=None)
    labs = _get(client, "portal_tracker:labs", child.public_id)
    assert "prueba del hígado (ALT)" in labs and "liver test (ALT)" not in labs
    plan = _get(client, "portal_tracker:plan", child.public_id)
    assert "Pruebas del hígado" in plan and "Liver tests" not in plan
