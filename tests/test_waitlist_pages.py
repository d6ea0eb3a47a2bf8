"""Reception's waitlist page, the held time on the day view, and the history's words
for what patients and the waitlist did (DESIGN.md section 9).

The scene: Friday 27 November 2026, 09:00 in New York. Dr Smith works Mondays 09:00
to 17:00; the times freed and held are on Monday 30 November.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from online.models import TimesOfDay, WaitlistEntry, WaitlistOffer
from online.waitlist import accept_offer, decline_offer, join_waitlist, refill
from scheduling.models import AppointmentChange, Status
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, DoctorFactory, PatientFactory, ServiceFactory

FRIDAY = MONDAY - timedelta(days=3)
WAITLIST = "/waitlist/"
Source = WaitlistEntry.Source


@pytest.fixture(autouse=True)
def friday_morning(time_machine) -> None:
    time_machine.move_to(at(FRIDAY, 9), tick=False)


def wait(patient, service, *, doctor=None, priority=0, times=TimesOfDay.ANY, source=Source.DESK):
    return join_waitlist(
        patient=patient,
        service=service,
        doctor=doctor,
        date_from=FRIDAY,
        date_to=MONDAY + timedelta(days=7),
        times_of_day=times,
        source=source,
        priority=priority,
    )


def add_form(who, what, **overrides) -> dict[str, object]:
    return {
        "patient": who.pk,
        "service": what.pk,
        "doctor": "",
        "date_from": FRIDAY.isoformat(),
        "date_to": (MONDAY + timedelta(days=14)).isoformat(),
        "times_of_day": TimesOfDay.MORNING,
        "priority": "0",
        **overrides,
    }


def freed_and_held(smith, consultation, waiter, other):
    """`other`'s Monday 10:00 cancelled, and the time held for `waiter`'s offer."""
    starts_at = at(MONDAY, 10)
    AppointmentFactory(
        doctor=smith,
        patient=other,
        service=consultation,
        starts_at=starts_at,
        status=Status.CANCELLED,
    )
    wait(waiter, consultation)
    [offer] = refill(doctor=smith, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
    return offer


# --- The list ---------------------------------------------------------------------


def test_reception_sees_the_waiters_in_turn(
    reception_client, smith, consultation, jane, bob, django_assert_max_num_queries
):
    wait(jane, consultation, source=Source.ONLINE)
    wait(bob, consultation, doctor=smith, priority=5, times=TimesOfDay.AFTERNOON)
    for _ in range(5):
        wait(PatientFactory(), consultation)

    with django_assert_max_num_queries(12):
        response = reception_client.get(WAITLIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Bob Brown") < page.index("Jane Doe")  # Priority 5 first.
    assert "Consultation · Dr Smith" in page
    assert "any doctor" in page
    assert "Afternoons (12:00 to 17:00)" in page
    assert "Online" in page
    assert "Reception" in page
    assert [entry.pk for entry in response.context["entries"]][:2] == [
        WaitlistEntry.objects.get(patient=bob).pk,
        WaitlistEntry.objects.get(patient=jane).pk,
    ]


def test_an_offered_waiter_shows_the_held_time_and_until_when(
    reception_client, smith, consultation, jane, bob
):
    freed_and_held(smith, consultation, waiter=jane, other=bob)

    page = reception_client.get(WAITLIST).content.decode()

    assert "Offered a time" in page
    assert "Mon 30 Nov 10:00–10:30" in page
    assert "held until 09:15" in page


def test_removed_and_booked_waiters_are_not_listed(reception_client, consultation, jane, bob):
    WaitlistEntry.objects.filter(pk=wait(jane, consultation).pk).update(
        status=WaitlistEntry.Status.REMOVED
    )
    WaitlistEntry.objects.filter(pk=wait(bob, consultation).pk).update(
        status=WaitlistEntry.Status.BOOKED
    )

    response = reception_client.get(WAITLIST)

    assert "Nobody is waiting." in response.content.decode()


def test_a_doctor_cannot_open_the_waitlist(doctor_client):
    assert doctor_client.get(WAITLIST).status_code == 403


def test_the_day_view_links_the_waitlist(reception_client):
    page = reception_client.get(reverse("scheduling:day")).content.decode()
    assert f'href="{WAITLIST}"' in page


# --- Adding a patient -----------------------------------------------------------------


def test_reception_finds_the_patient_as_on_the_booking_page(reception_client, jane):
    found = reception_client.get(WAITLIST, {"q": "jane doe"}).content.decode()
    assert f'href="?patient={jane.pk}"' in found

    chosen = reception_client.get(WAITLIST, {"patient": jane.pk})
    assert chosen.context["patient"] == jane
    assert 'data-testid="chosen-patient">Jane Doe' in chosen.content.decode()


def test_reception_adds_a_waiter_for_the_patient(
    reception_client, receptionist, smith, consultation, jane
):
    response = reception_client.post(
        WAITLIST, add_form(jane, consultation, doctor=smith.pk, priority="3"), follow=True
    )

    assert "Jane Doe is on the waitlist for Consultation." in response.content.decode()
    entry = WaitlistEntry.objects.get(patient=jane)
    assert (entry.source, entry.added_by, entry.priority) == (Source.DESK, receptionist, 3)
    assert (entry.doctor, entry.times_of_day) == (smith, TimesOfDay.MORNING)
    assert entry.date_to == MONDAY + timedelta(days=14)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"date_to": (FRIDAY - timedelta(days=1)).isoformat()},
            "The last date is before the first.",
        ),
        (
            {"date_from": "2026-11-01", "date_to": "2026-11-20"},
            "Those dates are past.",
        ),
        ({"date_to": (FRIDAY + timedelta(days=120)).isoformat()}, "Wait for at most 90 days"),
        ({"patient": ""}, "Find and choose the patient first."),
        ({"patient": "999999"}, "Select a valid choice"),
        ({"priority": "lots"}, "Enter a whole number."),
        ({"priority": "1000"}, "less than or equal to 99"),
        ({"date_from": "30/30/2026"}, "Enter a valid date."),
        ({"times_of_day": "midnight"}, "Select a valid choice"),
    ],
)
def test_bad_input_says_why_and_adds_nobody(reception_client, consultation, jane, change, message):
    response = reception_client.post(WAITLIST, add_form(jane, consultation, **change))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_a_doctor_who_does_not_offer_the_service_is_refused(
    reception_client, smith, consultation, jane
):
    jones = DoctorFactory(given_name="Grace", family_name="Jones")
    consultation.doctors.add(jones)

    response = reception_client.post(WAITLIST, add_form(jane, consultation, doctor=smith.pk))

    assert response.status_code == 400
    assert "does not offer Consultation" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_adding_a_patient_already_waiting_updates_their_wish(reception_client, consultation, jane):
    first = wait(jane, consultation)

    reception_client.post(
        WAITLIST, add_form(jane, consultation, times_of_day=TimesOfDay.EVENING, priority="4")
    )

    [entry] = WaitlistEntry.objects.all()
    assert (entry.pk, entry.times_of_day, entry.priority) == (first.pk, TimesOfDay.EVENING, 4)


# --- Priority and removal -----------------------------------------------------------------


def test_reception_changes_a_priority(reception_client, consultation, jane, bob):
    entry = wait(jane, consultation)
    wait(bob, consultation, priority=1)

    response = reception_client.post(
        reverse("waitlist:priority", args=[entry.pk]), {"priority": "2"}, follow=True
    )

    assert "Jane Doe&#x27;s priority is now 2." in response.content.decode()
    assert [e.patient for e in WaitlistEntry.objects.in_turn()] == [jane, bob]


@pytest.mark.parametrize("value", ["", "high", "-1000", "2.5"])
def test_a_bad_priority_changes_nothing(reception_client, consultation, jane, value):
    entry = wait(jane, consultation, priority=1)

    response = reception_client.post(
        reverse("waitlist:priority", args=[entry.pk]), {"priority": value}, follow=True
    )

    assert response.status_code == 200
    assert "Priority for Jane Doe not changed" in response.content.decode()
    entry.refresh_from_db()
    assert entry.priority == 1


def test_reception_removes_a_waiter(reception_client, consultation, jane):
    entry = wait(jane, consultation)

    response = reception_client.post(reverse("waitlist:remove", args=[entry.pk]), follow=True)

    assert "Jane Doe is off the waitlist for Consultation." in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.REMOVED


def test_removing_an_offered_waiter_withdraws_the_offer_and_frees_the_time(
    reception_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)

    reception_client.post(reverse("waitlist:remove", args=[offer.entry.pk]))

    offer.refresh_from_db()
    offer.hold.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.WITHDRAWN
    assert offer.hold.status == Status.RELEASED


def test_a_waiter_gone_already_is_not_found(reception_client, consultation, jane):
    entry = wait(jane, consultation)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.REMOVED)

    assert reception_client.post(reverse("waitlist:remove", args=[entry.pk])).status_code == 404
    priority = reverse("waitlist:priority", args=[entry.pk])
    assert reception_client.post(priority, {"priority": "1"}).status_code == 404


def test_a_doctor_cannot_change_the_waitlist(doctor_client, consultation, jane):
    entry = wait(jane, consultation)

    assert doctor_client.post(reverse("waitlist:remove", args=[entry.pk])).status_code == 403
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


# --- The day view and the history -------------------------------------------------------


def day_page(client, day: date = MONDAY) -> str:
    return client.get(reverse("scheduling:day"), {"date": day.isoformat()}).content.decode()


def test_the_day_view_shows_a_held_time_without_quick_actions(
    reception_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)
    hold = offer.hold

    page = day_page(reception_client)

    assert f'class="appointment-card held status-held" id="appointment-{hold.pk}"' in page
    assert "Held for the waitlist until 09:15 · 10:00–10:30" in page
    card = page.split(f'data-testid="appointment-{hold.pk}"')[1].split("</div>\n</div>")[0]
    assert "Jane Doe" in card
    for action in ("confirm", "check-in", "cancel", "reschedule", "no-show"):
        assert f"/{action}/" not in card


def test_the_week_view_shows_the_held_time_too(reception_client, smith, consultation, jane, bob):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)

    page = reception_client.get(
        reverse("scheduling:week"), {"doctor": smith.pk, "date": MONDAY.isoformat()}
    ).content.decode()

    assert f'id="appointment-{offer.hold.pk}"' in page
    assert "Held for the waitlist until 09:15" in page


def test_a_released_hold_is_not_shown_on_the_day(reception_client, smith, consultation, jane, bob):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)
    decline_offer(offer=offer)  # Nobody else waits: the time is freed.

    page = day_page(reception_client)

    assert f'id="appointment-{offer.hold.pk}"' not in page
    assert "Waitlist hold released" not in page
    assert "Jane Doe" not in page
    assert "Bob Brown" in page  # The cancelled appointment, listed as before.


def test_the_history_says_the_waitlist_held_it_and_the_patient_took_it_by_sms(
    reception_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)
    appointment = accept_offer(offer=offer, via=AppointmentChange.Via.SMS)

    page = reception_client.get(reverse("scheduling:detail", args=[appointment.pk]))

    history = page.content.decode().split('<h2 class="h5">History</h2>')[1]
    held, taken = history.split('<li class="list-group-item">')[1:]
    assert "Held for a waitlist offer" in held
    assert "by the waitlist" in held
    assert "Booked from the waitlist" in taken
    assert "by SMS reply" in taken
    assert "Held for the waitlist → Booked" in taken
    assert "the system" not in history


def test_the_history_names_the_patient_online_and_the_staff(reception_client, receptionist):
    appointment = AppointmentFactory(starts_at=at(MONDAY, 10), service=ServiceFactory())
    base = {
        "appointment": appointment,
        "to_status": Status.BOOKED,
        "to_starts_at": appointment.starts_at,
        "to_ends_at": appointment.ends_at,
    }
    AppointmentChange.objects.create(
        action=AppointmentChange.Action.BOOKED, via=AppointmentChange.Via.ONLINE, **base
    )
    AppointmentChange.objects.create(
        action=AppointmentChange.Action.CONFIRMED, changed_by=receptionist, **base
    )
    AppointmentChange.objects.create(action=AppointmentChange.Action.CONFIRMED, **base)

    page = reception_client.get(reverse("scheduling:detail", args=[appointment.pk]))

    who = [
        part.split("</span>")[0].strip()
        for part in page.content.decode().split('data-testid="changed-by">')[1:]
    ]
    assert who == ["by the patient online", "by Rita Owens", "by the system"]


def test_booked_by_names_the_waitlist_when_nobody_at_the_desk_booked_it(
    reception_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)
    appointment = accept_offer(offer=offer, via=AppointmentChange.Via.SMS)

    page = reception_client.get(reverse("scheduling:detail", args=[appointment.pk]))

    assert '<dt class="col-sm-4">Booked by</dt><dd class="col-sm-8">the waitlist</dd>' in (
        page.content.decode()
    )


def test_the_doctors_own_day_shows_the_hold_and_not_a_released_one(
    doctor_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)
    my_day = reverse("scheduling:my_day")

    held = doctor_client.get(my_day, {"date": MONDAY.isoformat()}).content.decode()
    decline_offer(offer=offer)
    released = doctor_client.get(my_day, {"date": MONDAY.isoformat()}).content.decode()

    assert "Held for the waitlist" in held
    assert "Jane Doe" in held
    assert "Jane Doe" not in released
    assert "Waitlist hold released" not in released


def test_a_held_times_page_says_until_when_and_offers_nothing_to_do(
    reception_client, smith, consultation, jane, bob
):
    offer = freed_and_held(smith, consultation, waiter=jane, other=bob)

    page = reception_client.get(reverse("scheduling:detail", args=[offer.hold.pk]))

    text = page.content.decode()
    assert 'data-testid="held-until">Fri 27 Nov 09:15</dd>' in text
    assert "Held for the waitlist</span>" in text
    assert 'data-testid="detail-cancel-form"' not in text
    assert ">Confirm</button>" not in text


def test_removing_asks_first_and_changes_nothing_until_confirmed(
    reception_client, consultation, jane
):
    entry = wait(jane, consultation)
    listed = reception_client.get(reverse("waitlist:list")).content.decode()
    assert f'href="{reverse("waitlist:remove", args=[entry.pk])}"' in listed

    page = reception_client.get(reverse("waitlist:remove", args=[entry.pk]))

    assert "Remove Jane Doe from the waitlist?" in page.content.decode()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING
