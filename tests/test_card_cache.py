"""Issue 21, point 4: the day view's cards are rendered once and kept
(scheduling/templatetags/card_cache.py). The HTML is byte for byte what the card
template renders; any change to what a card shows (the appointment, its status,
the time that decides its actions, the language) shows at once; nothing of one
request or one user is kept in a card.

The scene: the Sunday evening before MONDAY (30 November 2026) in New York, Dr Smith
working Mondays 09:00-17:00."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.template import Context, engines
from django.urls import reverse
from django.utils import translation

from scheduling.calendar import FreeSpace, Placed
from scheduling.cards import Card, cards, make_card
from scheduling.models import Appointment, Status
from scheduling.services import confirm_appointment, reschedule_appointment
from scheduling.templatetags.card_cache import CARD_TEMPLATE, CARDS, KeptColumnNode
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    UserFactory,
)
from tests.helpers import signed_in

SUNDAY = MONDAY - timedelta(days=1)
CSRF = re.compile(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")([^"]+)')


@pytest.fixture(autouse=True)
def sunday_evening(time_machine, settings):
    time_machine.move_to(at(SUNDAY, 18), tick=False)
    settings.SESSION_COOKIE_AGE = 7 * 24 * 60 * 60  # Tests move the clock on.
    CARDS.clear()


@pytest.fixture
def quick(db):
    return ServiceFactory(code="jab", name="Vaccination", duration_minutes=10)


@pytest.fixture
def busy_monday(smith, consultation, quick) -> list[Appointment]:
    """Cards of every look: booked, confirmed, checked in, compact, cancelled."""
    return [
        AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 9)),
        AppointmentFactory(
            doctor=smith, service=consultation, starts_at=at(MONDAY, 10), status=Status.CONFIRMED
        ),
        AppointmentFactory(
            doctor=smith, service=consultation, starts_at=at(MONDAY, 11), status=Status.ARRIVED
        ),
        AppointmentFactory(
            doctor=smith,
            service=quick,
            starts_at=at(MONDAY, 12),
            patient=PatientFactory(given_name="Siobhán", family_name="D'Arcy <b>"),
        ),
        AppointmentFactory(
            doctor=smith, service=consultation, starts_at=at(MONDAY, 14), status=Status.CANCELLED
        ),
    ]


def day_view(client, day=MONDAY):
    response = client.get(reverse("scheduling:day"), {"date": day.isoformat()})
    assert response.status_code == 200
    return response


def card_renders(response) -> int:
    """How many times the card template was rendered for the response."""
    return sum(1 for t in response.templates if t.name == CARD_TEMPLATE)


def without_csrf(page: str) -> str:
    """The page but its CSRF tokens, which Django masks afresh on every response."""
    return CSRF.sub(r"\1", page)


def card_in(page: str, appointment: Appointment) -> str:
    start = page.index(f'id="appointment-{appointment.pk}"')
    ends = [page.find(after, start) for after in ('<div class="grid-appointment"', "grid-legend")]
    return page[start : min(end for end in ends if end > 0)]


# --- The same HTML -----------------------------------------------------------------


def test_the_day_view_from_kept_cards_is_the_page_rendered_afresh(reception_client, busy_monday):
    afresh = day_view(reception_client)
    kept = day_view(reception_client)

    assert card_renders(afresh) == 4  # the active cards; the cancelled one is a line
    assert card_renders(kept) == 0
    assert without_csrf(kept.content.decode()) == without_csrf(afresh.content.decode())


def every_kind_of_card():
    """Cards as the grid makes them, of every status, at moments that offer each
    quick action, with a patient name that needs escaping, and a hold."""
    url_pk = 41
    moments = [at(SUNDAY, 18), at(MONDAY, 8), at(MONDAY, 9, 5)]
    for status in Status.values:
        for now in moments:
            for minutes in (10, 30):
                yield make_card(
                    url_pk,
                    7,
                    status,
                    at(MONDAY, 9),
                    at(MONDAY, 9) + timedelta(minutes=minutes),
                    "Siobhán D'Arcy <b>&",
                    "Consultation",
                    held_until=at(MONDAY, 8, 45) if status == Status.HELD else None,
                    now=now,
                )
                url_pk += 1


@pytest.mark.parametrize("localized", [True, False])
def test_each_card_is_byte_for_byte_what_the_include_renders(db, localized):
    include = engines["django"].from_string(
        "{% load l10n %}{% localize " + ("on" if localized else "off") + " %}"
        f'{{% include "{CARD_TEMPLATE}" with card=card %}}{{% endlocalize %}}'
    )
    tag = engines["django"].from_string(
        "{% load l10n card_cache %}{% localize " + ("on" if localized else "off") + " %}"
        "{% appointment_card card %}{% endlocalize %}"
    )

    for card in every_kind_of_card():
        expected = include.render({"card": card})
        assert tag.render({"card": card}) == expected  # rendered and kept
        assert tag.render({"card": card}) == expected  # from the cache


def test_a_card_with_an_error_shows_it_and_is_not_kept(db):
    card = next(every_kind_of_card())
    tag = engines["django"].from_string("{% load card_cache %}{% appointment_card card %}")

    with_error = tag.render({"card": card, "error": "Too early to check in."})
    without = tag.render({"card": card})

    assert "Too early to check in." in with_error
    assert "Too early to check in." not in without


# --- Nothing of a request or a user in a card ----------------------------------------


class RecordingContext(Context):
    """A context that notes every name a template looks up in it from outside: in
    what it was given or not at all, not in the names the template binds itself
    ({% with %}, {% for %}, {% blocktranslate with %}, a tag's own push)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.given = len(self.dicts)
        self.read: set[str] = set()

    def note(self, key):
        if not any(key in bound for bound in self.dicts[self.given :]):
            self.read.add(key)

    def __getitem__(self, key):
        self.note(key)
        return super().__getitem__(key)

    def get(self, key, otherwise=None):
        self.note(key)
        return super().get(key, otherwise)

    def __contains__(self, key):
        self.note(key)
        return super().__contains__(key)


def test_the_card_template_reads_only_its_card_and_an_error(db):
    """The key of a kept card is the Card and how it is rendered: were the card
    template to read anything else from its context (the user, their permissions,
    a CSRF token, the request), that would have to join the key first."""
    card_template = engines["django"].engine.get_template(CARD_TEMPLATE)
    read: set[str] = set()

    for card in every_kind_of_card():
        for error in ("", "Refused."):
            context = RecordingContext({"card": card, "error": error})
            card_template.render(context)
            read |= context.read

    assert read - {"forloop"} == {"card", "error"}  # a {% for %} asks for the loop around


def test_a_card_kept_from_one_receptionists_page_carries_nothing_of_theirs(
    reception_client, busy_monday
):
    first = day_view(reception_client).content.decode()
    other = signed_in(ReceptionistFactory(first_name="Tom", last_name="Hale"))

    second = day_view(other)

    token = CSRF.search(first).group(2)
    assert card_renders(second) == 0
    for appointment in busy_monday[:4]:
        assert token not in card_in(second.content.decode(), appointment)
        assert card_in(second.content.decode(), appointment) == card_in(first, appointment)


# --- Every change shows at once ------------------------------------------------------


def test_a_renamed_patient_shows_at_once(reception_client, busy_monday):
    visit = busy_monday[0]
    day_view(reception_client)

    visit.patient.given_name = "Joanna"
    visit.patient.save()

    assert "Joanna" in card_in(day_view(reception_client).content.decode(), visit)


def test_a_moved_appointment_shows_its_new_time_at_once(
    reception_client, receptionist, busy_monday
):
    visit = busy_monday[0]
    day_view(reception_client)

    reschedule_appointment(appointment=visit, starts_at=at(MONDAY, 15), by=receptionist)

    card = card_in(day_view(reception_client).content.decode(), visit)
    assert "15:00–15:30" in card
    assert "09:00–09:30" not in card


def test_a_confirmation_shows_at_once(reception_client, receptionist, busy_monday):
    visit = busy_monday[0]
    assert "/confirm/" in card_in(day_view(reception_client).content.decode(), visit)

    confirm_appointment(appointment=visit, by=receptionist)

    card = card_in(day_view(reception_client).content.decode(), visit)
    assert "status-confirmed" in card
    assert "/confirm/" not in card


def test_a_quick_action_answer_and_the_next_day_view_agree(reception_client, busy_monday):
    visit = busy_monday[0]
    day_view(reception_client)

    answer = reception_client.post(
        reverse("scheduling:action", args=[visit.pk, "confirm"]), headers={"HX-Request": "true"}
    )

    assert answer.status_code == 200
    assert "status-confirmed" in card_in(day_view(reception_client).content.decode(), visit)


def test_the_passing_of_time_changes_a_cards_actions_at_once(
    reception_client, time_machine, busy_monday
):
    confirmed = busy_monday[1]  # 10:00
    sunday = card_in(day_view(reception_client).content.decode(), confirmed)
    assert "/check-in/" not in sunday  # not on its day yet

    time_machine.move_to(at(MONDAY, 8), tick=False)
    morning = card_in(day_view(reception_client).content.decode(), confirmed)
    assert "/check-in/" in morning
    assert "/no-show/" not in morning

    time_machine.move_to(at(MONDAY, 10, 5), tick=False)
    late = card_in(day_view(reception_client).content.decode(), confirmed)
    assert "/no-show/" in late


def write_catalogue(path: Path, messages: dict[str, str]) -> None:
    """A gettext .mo file of `messages` (GNU's format: a header, then the sorted
    originals' and translations' lengths and offsets, then the strings)."""
    originals = sorted(messages)
    ids = b"".join(m.encode() + b"\0" for m in originals)
    strs = b"".join(messages[m].encode() + b"\0" for m in originals)
    count = len(originals)
    start = 7 * 4 + 16 * count
    id_table, offset = [], start
    for original in originals:
        id_table += [len(original.encode()), offset]
        offset += len(original.encode()) + 1
    str_table, offset = [], start + len(ids)
    for original in originals:
        str_table += [len(messages[original].encode()), offset]
        offset += len(messages[original].encode()) + 1
    header = struct.pack("Iiiiiii", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    body = struct.pack(f"{4 * count}i", *id_table, *str_table)
    path.parent.mkdir(parents=True)
    path.write_bytes(header + body + ids + strs)


@pytest.fixture
def spanish(settings, tmp_path) -> Iterator[None]:
    """Translations on, with a Spanish catalogue of one word."""
    write_catalogue(
        tmp_path / "es" / "LC_MESSAGES" / "django.mo",
        {"": "Content-Type: text/plain; charset=UTF-8\n", "Confirm": "Confirmar"},
    )
    settings.USE_I18N = True
    settings.LOCALE_PATHS = [tmp_path]
    settings.LANGUAGES = [("en", "English"), ("es", "Spanish")]
    # Django picks its translation functions by USE_I18N once; its documented way
    # to choose again (django/utils/translation/__init__.py, Trans).
    translation._trans.__dict__.clear()
    yield
    translation._trans.__dict__.clear()


def test_a_card_in_another_language_is_rendered_in_it(db, spanish):
    card = make_card(
        5,
        7,
        Status.BOOKED,
        at(MONDAY, 9),
        at(MONDAY, 9, 30),
        "Jane Doe",
        "Consultation",
        now=at(SUNDAY, 18),
    )
    tag = engines["django"].from_string("{% load card_cache %}{% appointment_card card %}")

    with translation.override("en"):
        english = tag.render({"card": card})
    with translation.override("es"):
        spanish = tag.render({"card": card})

    assert ">Confirm</button>" in english
    assert ">Confirmar</button>" in spanish


def test_the_cards_of_a_day_are_made_as_one_card_at_a_time(reception_client, busy_monday):
    """cards() builds a page's URLs and labels once for all; each card is the same as
    the card the quick actions make for one appointment."""
    made = cards(Appointment.objects.filter(pk__in=[a.pk for a in busy_monday]).order_by("pk"))

    for card, appointment in zip(made, sorted(busy_monday, key=lambda a: a.pk), strict=True):
        alone = make_card(
            appointment.pk,
            appointment.doctor_id,
            appointment.status,
            appointment.starts_at,
            appointment.ends_at,
            appointment.patient.full_name,
            appointment.service.name,
            now=at(SUNDAY, 18),
        )
        assert card == alone
        assert card.url == reverse("scheduling:detail", args=[appointment.pk])


# --- A column's free spaces and cards, kept as one ----------------------------------


def test_the_column_block_reads_only_its_column_and_can_book(reception_client, busy_monday, smith):
    """Like the card's: what the kept block of the grid reads is in its key."""
    grid = day_view(reception_client).context["grid"]
    time_grid = engines["django"].engine.get_template("scheduling/partials/time_grid.html")
    (block,) = time_grid.nodelist.get_nodes_by_type(KeptColumnNode)
    read: set[str] = set()

    for column in grid.columns:
        for can_book in (True, False):
            context = RecordingContext({"column": column, "can_book": can_book})
            with context.bind_template(time_grid):
                block.nodelist.render(context)
            read |= context.read

    assert read - {"forloop"} == {"column", "can_book", "error"}


def test_everything_a_kept_key_digests_is_in_the_reprs():
    """The keys digest the reprs of the cards, free spaces and placings: no field may
    be left out of its dataclass's repr."""
    for kind in (Card, FreeSpace, Placed):
        assert all(field.repr for field in fields(kind)), kind


def test_free_time_moves_on_with_the_clock_at_once(reception_client, time_machine, busy_monday):
    time_machine.move_to(at(MONDAY, 12, 10), tick=False)
    assert "Book from 12:10" in day_view(reception_client).content.decode()

    time_machine.move_to(at(MONDAY, 12, 20), tick=False)
    page = day_view(reception_client).content.decode()

    assert "Book from 12:20" in page
    assert "Book from 12:10" not in page


def test_a_user_who_may_not_book_gets_no_free_time_links_from_a_page_kept_for_one_who_may(
    reception_client, busy_monday
):
    assert 'class="free-space"' in day_view(reception_client).content.decode()
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_appointment"))

    page = day_view(signed_in(user)).content.decode()

    assert 'class="free-space"' not in page
    assert f'id="appointment-{busy_monday[0].pk}"' in page


def test_a_renamed_doctor_shows_in_the_free_time_at_once(reception_client, smith, busy_monday):
    day_view(reception_client)

    smith.family_name = "Smythe"
    smith.save()

    links = re.findall(r'<a class="free-space"[^>]*>', day_view(reception_client).content.decode())
    assert links
    assert all("Dr Smythe" in link and "Dr Smith" not in link for link in links)


def test_a_new_appointment_shows_at_once(reception_client, smith, consultation, busy_monday):
    day_view(reception_client)

    added = AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 16))

    page = day_view(reception_client).content.decode()
    assert f'id="appointment-{added.pk}"' in page
    assert "Book from 16:00" not in page
