"""The staff's side of patients online beyond the waitlist page: a patient who
registered online reviewed at the desk, the manager's admin for the online rules and
the waitlist, and reports that count no waitlist hold as a booking.

The scene: Monday 30 November 2026 in New York; Dr Smith works Mondays 09:00 to 17:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from clinic.kernel.periods import Period
from clinic.reports.dashboard import dashboard
from online.models import OnlineRules, WaitlistEntry, WaitlistOffer
from scheduling.models import Status
from scheduling.reports import appointments_by_status, attendance, utilisation
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, PatientFactory

# --- A patient registered online ------------------------------------------------------


@pytest.fixture
def online_jane(db):
    """Jane Doe as she registered herself on the booking site: the desk knows her."""
    return PatientFactory(
        given_name="Jane", family_name="Doe", phone="+12025550199", registered_online=True
    )


def test_a_patient_registered_online_is_flagged_with_who_they_may_be(manager_client, online_jane):
    known = PatientFactory(given_name="Jane", family_name="Doe", phone="+12025550111")
    same_phone = PatientFactory(given_name="Janet", family_name="Doe", phone="+12025550199")
    PatientFactory(given_name="Joan", family_name="Day")

    page = manager_client.get(online_jane.get_absolute_url()).content.decode()

    assert "Registered online — please review" in page
    assert page.count("Merge into ") == 2
    for other in (known, same_phone):
        merge = reverse("patients:merge_confirm", args=[other.pk, online_jane.pk])
        assert f'href="{merge}"' in page
    assert "Joan Day" not in page


def test_reception_sees_the_flag_without_the_merge_links(reception_client, online_jane):
    PatientFactory(given_name="Jane", family_name="Doe")

    page = reception_client.get(online_jane.get_absolute_url()).content.decode()

    assert "Registered online — please review" in page
    assert "Merge into" not in page
    assert "Reviewed" in page


def test_nobody_like_them_says_so(reception_client, online_jane):
    page = reception_client.get(online_jane.get_absolute_url()).content.decode()
    assert "Nobody else has this name and date of birth, or this phone." in page


def test_reviewed_clears_the_flag(reception_client, online_jane):
    response = reception_client.post(
        reverse("patients:reviewed", args=[online_jane.pk]), follow=True
    )

    page = response.content.decode()
    assert "Jane Doe is marked as reviewed." in page
    assert "Registered online — please review" not in page
    online_jane.refresh_from_db()
    assert not online_jane.registered_online


def test_a_patient_registered_at_the_desk_has_no_flag(reception_client, jane):
    page = reception_client.get(jane.get_absolute_url()).content.decode()
    assert "please review" not in page


def test_a_doctor_cannot_clear_the_flag(doctor_client, online_jane):
    response = doctor_client.post(reverse("patients:reviewed", args=[online_jane.pk]))

    assert response.status_code == 403
    online_jane.refresh_from_db()
    assert online_jane.registered_online


# --- The manager's admin --------------------------------------------------------------


def test_the_online_rules_list_goes_to_the_one_form(manager_client):
    changelist = reverse("admin:online_onlinerules_changelist")

    first = manager_client.get(changelist)
    assert first.status_code == 302
    assert first.url == reverse("admin:online_onlinerules_add")

    saved = manager_client.post(
        first.url,
        {
            "min_notice_minutes": "60",
            "horizon_days": "30",
            "new_patients_allowed": "on",
            "max_future_bookings": "2",
            "late_cancel_hours": "12",
            "offer_hold_minutes": "10",
            "opening_hours": "",
            "directions": "",
        },
    )
    assert saved.status_code == 302
    assert OnlineRules.current().min_notice_minutes == 60

    again = manager_client.get(changelist)
    assert again.url == reverse("admin:online_onlinerules_change", args=[1])
    assert manager_client.get(reverse("admin:online_onlinerules_add")).status_code == 403
    delete = reverse("admin:online_onlinerules_delete", args=[1])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403
    assert OnlineRules.objects.count() == 1


def test_the_service_and_doctor_lists_show_their_online_settings(
    manager_client, consultation, smith
):
    services = manager_client.get(reverse("admin:scheduling_service_changelist")).content.decode()
    assert "column-online_booking" in services
    assert "column-show_price_online" in services
    assert "Not online" in services
    doctors = manager_client.get(reverse("admin:doctors_doctor_changelist")).content.decode()
    assert "column-bookable_online" in doctors


def test_the_manager_reads_the_waitlist_and_its_offers(manager_client, smith, consultation, jane):
    hold = AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 10)
    )
    entry = WaitlistEntry.objects.create(
        patient=jane, service=consultation, date_from=MONDAY, date_to=MONDAY, source="desk"
    )
    offer = WaitlistOffer.objects.create(
        entry=entry, hold=hold, token_hash="x" * 64, expires_at=at(MONDAY, 9)
    )

    entries = manager_client.get(reverse("admin:online_waitlistentry_changelist"))
    offers = manager_client.get(reverse("admin:online_waitlistoffer_changelist"))
    detail = manager_client.get(reverse("admin:online_waitlistoffer_change", args=[offer.pk]))

    assert "Jane Doe" in entries.content.decode()
    assert offers.status_code == 200
    assert "x" * 64 not in detail.content.decode()
    assert manager_client.get(reverse("admin:online_waitlistentry_add")).status_code == 403


# --- Reports: a hold is no booking ------------------------------------------------------


@pytest.fixture
def monday_with_holds(smith, consultation, jane, bob):
    """Monday: one booking, one time held for an offer, one hold released."""
    AppointmentFactory(doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 9))
    AppointmentFactory(
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=at(MONDAY, 10),
        status=Status.HELD,
        held_until=at(MONDAY, 8),
    )
    AppointmentFactory(
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=at(MONDAY, 11),
        status=Status.RELEASED,
    )


MONDAY_ONLY = Period(MONDAY, MONDAY)


def test_attendance_counts_no_holds(monday_with_holds):
    [row] = attendance(period=MONDAY_ONLY, group="doctor").rows
    assert (row["appointments"], row["still_ahead"]) == (1, 1)


def test_utilisation_counts_no_held_minutes(monday_with_holds):
    [row] = utilisation(period=MONDAY_ONLY).rows
    assert row["booked_minutes"] == 30


def test_the_dashboard_counts_no_holds(monday_with_holds, time_machine):
    time_machine.move_to(at(MONDAY, 8), tick=False)

    counts = appointments_by_status(period=MONDAY_ONLY)
    statuses = {label: today for label, today, _week in dashboard(MONDAY)["statuses"]}

    assert sum(counts.values()) == 1
    assert Status.HELD not in counts
    assert Status.RELEASED not in counts
    assert statuses["Booked"] == 1
    assert "Held for the waitlist" not in statuses
    assert sum(statuses.values()) == 1


def test_the_waitlist_hold_leaves_the_cancelled_and_no_show_lists_alone(monday_with_holds):
    # A late cancellation is one of an appointment, never of a hold.
    [row] = attendance(period=Period(MONDAY, MONDAY + timedelta(days=1))).rows
    assert (row["cancelled"], row["no_shows"], row["late_cancelled"]) == (0, 0, 0)


def test_the_patients_list_marks_who_registered_online(reception_client):
    PatientFactory(family_name="Newcomer", registered_online=True)

    page = reception_client.get(reverse("patients:list")).content.decode()

    assert "Registered online: review" in page
