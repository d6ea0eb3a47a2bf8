"""Time off over booked patients (issue 16, point 5): admin warns before a change of
a doctor's timetable strands appointments, saves nothing until the manager saves
anyway, and then flags them "needs rebooking" for reception's list, where the
patient is texted once that the clinic will call, or the appointment is moved.

The scene: Tuesday 1 December 2026, 08:00 in New York. Dr Smith works 09:00-17:00
Monday to Friday. Next Monday (7 December) Jane Doe is booked at 10:00 and Bob Brown
confirmed at 14:00; Carol's 11:00 was cancelled. Ann Lee is booked on Tuesday the
8th at 10:00.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from django.urls import reverse

from doctors.models import TimeOff, Weekday, WorkingHours
from notifications.models import Notification
from scheduling.models import AppointmentChange, RebookingFlag, Status
from scheduling.rebooking import displaced_appointments, flag_for_rebooking
from scheduling.services import cancel_appointment, reschedule_appointment
from tests.clock import at
from tests.factories import AppointmentFactory, PatientFactory, TimeOffFactory
from tests.helpers import signed_in

Action = AppointmentChange.Action
TUESDAY = date(2026, 12, 1)
NEXT_MONDAY = date(2026, 12, 7)
NEXT_TUESDAY = date(2026, 12, 8)
WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]


@pytest.fixture(autouse=True)
def early_tuesday(time_machine) -> None:
    time_machine.move_to(at(TUESDAY, 8), tick=False)


@pytest.fixture
def smith(doctor):
    for weekday in WEEKDAYS:
        WorkingHours.objects.create(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def jane_at_ten(smith, jane, consultation):
    return AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(NEXT_MONDAY, 10)
    )


@pytest.fixture
def bob_at_two(smith, bob, consultation):
    return AppointmentFactory(
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 14),
        status=Status.CONFIRMED,
    )


@pytest.fixture
def carols_cancelled(smith, consultation):
    return AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Carol", family_name="King"),
        service=consultation,
        starts_at=at(NEXT_MONDAY, 11),
        status=Status.CANCELLED,
    )


@pytest.fixture
def ann_on_tuesday(smith, consultation):
    return AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Ann", family_name="Lee"),
        service=consultation,
        starts_at=at(NEXT_TUESDAY, 10),
    )


@pytest.fixture
def monday(jane_at_ten, bob_at_two, carols_cancelled, ann_on_tuesday):
    """Everyone of the scene."""
    return [jane_at_ten, bob_at_two, carols_cancelled, ann_on_tuesday]


def time_off_form(doctor, starts, ends, reason="Conference", **extra) -> dict[str, str]:
    """The admin's time-off form: `starts` and `ends` as (date, "HH:MM")."""
    return {
        "doctor": str(doctor.pk),
        "starts_at_0": starts[0].isoformat(),
        "starts_at_1": starts[1],
        "ends_at_0": ends[0].isoformat(),
        "ends_at_1": ends[1],
        "reason": reason,
        **extra,
    }


MONDAY_OFF = ((NEXT_MONDAY, "00:00"), (NEXT_TUESDAY, "00:00"))
ADD_TIME_OFF = reverse("admin:doctors_timeoff_add")


def flagged(*appointments) -> list[bool]:
    return [
        RebookingFlag.objects.filter(appointment=item, cleared_at=None).exists()
        for item in appointments
    ]


# --- The warning in admin --------------------------------------------------------


def test_time_off_over_booked_patients_is_not_saved_without_confirmation(
    manager_client, smith, monday
):
    response = manager_client.post(ADD_TIME_OFF, time_off_form(smith, *MONDAY_OFF))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Not saved: this change strands 2 appointments" in page
    assert "Jane Doe" in page
    assert "Bob Brown" in page
    assert 'Mon 7 Dec 2026 <span dir="ltr">10:00–10:30</span>' in page
    assert "Consultation" in page
    assert "Carol King" not in page  # cancelled: holds no time
    assert "Ann Lee" not in page  # Tuesday: outside the time off
    assert 'name="_save_anyway"' in page
    assert not TimeOff.objects.exists()
    assert not RebookingFlag.objects.exists()


def test_saved_anyway_the_time_off_flags_the_appointments_it_covers(
    manager_client, manager, smith, monday
):
    jane_at_ten = monday[0]

    response = manager_client.post(
        ADD_TIME_OFF, time_off_form(smith, *MONDAY_OFF, _save_anyway="Save anyway")
    )

    assert response.status_code == 302
    assert TimeOff.objects.get().reason == "Conference"
    assert flagged(*monday) == [True, True, False, False]
    flag = RebookingFlag.objects.get(appointment=jane_at_ten)
    assert flag.flagged_by == manager
    assert flag.reason == "Time off Mon 7 Dec 00:00 – Tue 8 Dec 00:00 (Conference)."
    entry = jane_at_ten.changes.get(action=Action.NEEDS_REBOOKING)
    assert (entry.changed_by, entry.note) == (manager, flag.reason)


def test_time_off_over_nobody_saves_at_once(manager_client, smith, ann_on_tuesday):
    response = manager_client.post(ADD_TIME_OFF, time_off_form(smith, *MONDAY_OFF))

    assert response.status_code == 302
    assert TimeOff.objects.count() == 1
    assert not RebookingFlag.objects.exists()


def test_lengthening_a_time_off_warns_of_the_new_appointments_only(manager_client, smith, monday):
    # Monday morning off already; Jane's 10:00 lay in it before this feature.
    leave = TimeOffFactory(doctor=smith, starts_at=at(NEXT_MONDAY, 9), ends_at=at(NEXT_MONDAY, 12))
    url = reverse("admin:doctors_timeoff_change", args=[leave.pk])

    response = manager_client.post(
        url, time_off_form(smith, (NEXT_MONDAY, "09:00"), (NEXT_MONDAY, "17:00"))
    )

    page = response.content.decode()
    assert "strands 1 appointment" in page
    assert "Bob Brown" in page
    assert "Jane Doe" not in page
    leave.refresh_from_db()
    assert leave.ends_at == at(NEXT_MONDAY, 12)


def test_a_past_appointment_is_not_stranded(manager_client, smith, jane, consultation):
    # Yesterday (Monday 30 November) at 10:00, in Dr Smith's hours, still "booked".
    yesterday = date(2026, 11, 30)
    AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(yesterday, 10)
    )

    response = manager_client.post(
        ADD_TIME_OFF, time_off_form(smith, (yesterday, "00:00"), (TUESDAY, "00:00"))
    )

    assert response.status_code == 302
    assert not RebookingFlag.objects.exists()


def test_an_already_flagged_appointment_is_not_warned_of_again(smith, monday):
    jane_at_ten = monday[0]
    flag_for_rebooking(
        displaced=displaced_appointments(
            doctor=smith, time_off=[*_leaves(smith, at(NEXT_MONDAY, 10), at(NEXT_MONDAY, 11))]
        ),
        by=None,
    )

    again = displaced_appointments(
        doctor=smith, time_off=[*_leaves(smith, at(NEXT_MONDAY, 0), at(NEXT_TUESDAY, 0))]
    )

    assert flagged(jane_at_ten) == [True]
    assert [item.appointment.patient.given_name for item in again] == ["Bob"]


def _leaves(doctor, starts_at, ends_at):
    from scheduling.rebooking import Leave

    return [Leave(starts_at, ends_at, "Sick")]


# --- Working hours on the doctor's page ---------------------------------------------


def doctor_page_form(doctor, hours, *, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The doctor's admin page as the manager sends it: `hours` maps each saved
    WorkingHours row to its new (starts, ends), to False to keep it, or to None to
    delete it."""
    data = {
        "given_name": doctor.given_name,
        "family_name": doctor.family_name,
        "specialty": str(doctor.specialty_id),
        "phone": str(doctor.phone),
        "email": doctor.email,
        "is_active": "on",
        "user": str(doctor.user_id),
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": str(len(hours)),
        "time_off-TOTAL_FORMS": "0",
        "time_off-INITIAL_FORMS": "0",
    }
    for index, (row, change) in enumerate(hours.items()):
        starts, ends = change or (f"{row.starts:%H:%M}", f"{row.ends:%H:%M}")
        data |= {
            f"working_hours-{index}-id": str(row.pk),
            f"working_hours-{index}-doctor": str(doctor.pk),
            f"working_hours-{index}-weekday": str(row.weekday),
            f"working_hours-{index}-starts": starts,
            f"working_hours-{index}-ends": ends,
        }
        if change is None:
            data[f"working_hours-{index}-DELETE"] = "on"
    return data | (extra or {})


def test_shortened_monday_hours_warn_and_change_nothing(manager_client, smith, monday):
    url = reverse("admin:doctors_doctor_change", args=[smith.pk])
    monday_row = smith.working_hours.get(weekday=Weekday.MONDAY)
    hours = {
        row: ("09:00", "12:00") if row == monday_row else False for row in smith.working_hours.all()
    }

    response = manager_client.post(url, doctor_page_form(smith, hours))

    assert response.status_code == 200
    page = response.content.decode()
    assert "strands 1 appointment" in page
    assert "Bob Brown" in page
    assert "Jane Doe" not in page
    assert "Working hours on Monday are now 09:00–12:00." in page
    monday_row.refresh_from_db()
    assert monday_row.ends == time(17)


def test_shortened_hours_saved_anyway_flag_the_appointment_outside_them(
    manager_client, smith, monday
):
    url = reverse("admin:doctors_doctor_change", args=[smith.pk])
    monday_row = smith.working_hours.get(weekday=Weekday.MONDAY)
    hours = {
        row: ("09:00", "12:00") if row == monday_row else False for row in smith.working_hours.all()
    }

    response = manager_client.post(
        url, doctor_page_form(smith, hours, extra={"_save_anyway": "Save anyway"})
    )

    assert response.status_code == 302
    monday_row.refresh_from_db()
    assert monday_row.ends == time(12)
    assert flagged(*monday) == [False, True, False, False]


def test_removing_monday_hours_strands_both_monday_patients(manager_client, smith, monday):
    url = reverse("admin:doctors_doctor_change", args=[smith.pk])
    monday_row = smith.working_hours.get(weekday=Weekday.MONDAY)
    hours = {row: None if row == monday_row else False for row in smith.working_hours.all()}

    response = manager_client.post(url, doctor_page_form(smith, hours))

    assert "strands 2 appointments" in response.content.decode()
    assert "No working hours on Monday any more." in response.content.decode()
    assert smith.working_hours.filter(weekday=Weekday.MONDAY).exists()


def test_time_off_added_on_the_doctors_page_warns_too(manager_client, smith, monday):
    url = reverse("admin:doctors_doctor_change", args=[smith.pk])
    hours = dict.fromkeys(smith.working_hours.all(), False)
    data = doctor_page_form(smith, hours) | {
        "time_off-TOTAL_FORMS": "1",
        "time_off-0-doctor": str(smith.pk),
        "time_off-0-starts_at_0": NEXT_MONDAY.isoformat(),
        "time_off-0-starts_at_1": "13:00",
        "time_off-0-ends_at_0": NEXT_MONDAY.isoformat(),
        "time_off-0-ends_at_1": "17:00",
        "time_off-0-reason": "Dentist",
    }

    response = manager_client.post(url, data)

    assert "strands 1 appointment" in response.content.decode()
    assert not TimeOff.objects.exists()

    saved = manager_client.post(url, data | {"_save_anyway": "Save anyway"})

    assert saved.status_code == 302
    assert flagged(*monday) == [False, True, False, False]


def test_lengthened_hours_save_at_once(manager_client, smith, monday):
    url = reverse("admin:doctors_doctor_change", args=[smith.pk])
    hours = {row: ("08:00", "18:00") for row in smith.working_hours.all()}

    response = manager_client.post(url, doctor_page_form(smith, hours))

    assert response.status_code == 302
    assert not RebookingFlag.objects.exists()


# --- The flag clears -----------------------------------------------------------------


@pytest.fixture
def jane_flagged(smith, monday, manager) -> RebookingFlag:
    TimeOffFactory(doctor=smith, starts_at=at(NEXT_MONDAY, 9), ends_at=at(NEXT_MONDAY, 11))
    return RebookingFlag.objects.create(
        appointment=monday[0], reason="Time off.", flagged_by=manager
    )


def test_rescheduling_clears_the_flag(jane_flagged, receptionist):
    reschedule_appointment(
        appointment=jane_flagged.appointment, starts_at=at(NEXT_TUESDAY, 11), by=receptionist
    )

    jane_flagged.refresh_from_db()
    assert jane_flagged.cleared_at is not None
    assert jane_flagged.cleared_by == receptionist


def test_cancelling_clears_the_flag(jane_flagged, receptionist):
    cancel_appointment(appointment=jane_flagged.appointment, reason="Doctor away", by=receptionist)

    jane_flagged.refresh_from_db()
    assert jane_flagged.cleared_at is not None


def test_a_cleared_appointment_can_be_flagged_again(jane_flagged, smith):
    reschedule_appointment(
        appointment=jane_flagged.appointment, starts_at=at(NEXT_TUESDAY, 11), by=None
    )

    again = displaced_appointments(
        doctor=smith, time_off=[*_leaves(smith, at(NEXT_TUESDAY, 0), at(NEXT_TUESDAY, 23))]
    )
    flag_for_rebooking(displaced=again, by=None)

    assert RebookingFlag.objects.filter(appointment=jane_flagged.appointment).count() == 2
    assert flagged(jane_flagged.appointment) == [True]


# --- The reception list ---------------------------------------------------------------

REBOOKING = reverse("scheduling:rebooking")


def text_url(flag: RebookingFlag) -> str:
    return reverse("scheduling:rebooking_text", args=[flag.pk])


def test_reception_sees_the_flagged_appointments_with_their_actions(reception_client, jane_flagged):
    page = reception_client.get(REBOOKING).content.decode()

    assert "Jane Doe" in page
    assert 'Mon 7 Dec <span dir="ltr">10:00–10:30</span>' in page
    assert "Bob Brown" not in page
    assert text_url(jane_flagged) in page
    assert reverse("scheduling:reschedule", args=[jane_flagged.appointment_id]) in page


def test_the_nav_counts_the_appointments_to_rebook(reception_client, jane_flagged):
    page = reception_client.get(reverse("scheduling:day")).content.decode()

    assert 'data-testid="rebooking-count">1<' in page


def test_the_rebooking_list_cancels_through_the_cancel_view(reception_client, jane_flagged):
    appointment = jane_flagged.appointment
    cancel = reverse("scheduling:cancel", args=[appointment.pk])

    page = reception_client.get(reverse("scheduling:rebooking")).content.decode()

    assert f'action="{cancel}"' in page
    assert '<option value="doctor_unavailable" selected>' in page
    response = reception_client.post(
        cancel,
        {
            "common_reason": "doctor_unavailable",
            "reason": "",
            "next": reverse("scheduling:rebooking"),
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("scheduling:rebooking")
    assert "Cancelled: Jane Doe with Dr Smith on " in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "The doctor is unavailable"
    jane_flagged.refresh_from_db()
    assert jane_flagged.cleared_at is not None


def test_text_the_patient_queues_one_sms_however_often_it_is_clicked(
    reception_client, receptionist, jane_flagged
):
    first = reception_client.post(text_url(jane_flagged), follow=True)
    second = reception_client.post(text_url(jane_flagged), follow=True)

    message = Notification.objects.get(template="rebooking_call")
    assert message.patient == jane_flagged.appointment.patient
    assert message.channel == "sms"
    assert "We will call you to find a new time" in message.body
    assert "Dr Smith" in message.body
    assert "Text queued to Jane Doe" in first.content.decode()
    assert "already texted" in second.content.decode()
    jane_flagged.refresh_from_db()
    assert jane_flagged.patient_told_at is not None
    entry = jane_flagged.appointment.changes.get(action=Action.REBOOKING_CALL)
    assert entry.changed_by == receptionist


def test_a_patient_without_a_phone_gets_no_text_and_reception_is_told(
    reception_client, jane_flagged
):
    patient = jane_flagged.appointment.patient
    patient.phone = ""
    patient.save()

    response = reception_client.post(text_url(jane_flagged), follow=True)

    assert "has no phone number on file" in response.content.decode()
    assert not Notification.objects.filter(template="rebooking_call").exists()
    jane_flagged.refresh_from_db()
    assert jane_flagged.patient_told_at is None


def test_a_patient_who_opted_out_of_texts_gets_none(reception_client, jane_flagged):
    patient = jane_flagged.appointment.patient
    patient.set_sms_opt_out(True)
    patient.save()

    response = reception_client.post(text_url(jane_flagged), follow=True)

    assert "has opted out of texts" in response.content.decode()
    assert not Notification.objects.filter(template="rebooking_call").exists()


def test_a_cleared_flag_cannot_be_texted(reception_client, jane_flagged):
    cancel_appointment(appointment=jane_flagged.appointment, reason="Away", by=None)

    response = reception_client.post(text_url(jane_flagged), follow=True)

    assert "no longer needs rebooking" in response.content.decode()
    assert not Notification.objects.filter(template="rebooking_call").exists()


def test_moved_off_the_list_once_rescheduled(reception_client, jane_flagged):
    reschedule_appointment(
        appointment=jane_flagged.appointment, starts_at=at(NEXT_TUESDAY, 11), by=None
    )

    page = reception_client.get(REBOOKING).content.decode()

    assert "Jane Doe" not in page
    assert "Nothing to rebook." in page


def test_doctors_cannot_open_the_list_nor_text(doctor_client, jane_flagged):
    assert doctor_client.get(REBOOKING).status_code == 403
    assert doctor_client.post(text_url(jane_flagged)).status_code == 403
    assert not Notification.objects.filter(template="rebooking_call").exists()


def test_managers_work_the_list_too(manager_client, jane_flagged):
    assert manager_client.get(REBOOKING).status_code == 200


def test_an_unknown_flag_is_not_found(reception_client, db):
    assert (
        reception_client.post(reverse("scheduling:rebooking_text", args=[999])).status_code == 404
    )


def test_the_list_runs_a_fixed_number_of_queries(
    receptionist, smith, consultation, django_assert_num_queries
):
    for hour in range(9, 17):
        item = AppointmentFactory(
            doctor=smith, service=consultation, starts_at=at(NEXT_MONDAY, hour)
        )
        RebookingFlag.objects.create(appointment=item, reason="Time off.")
    client = signed_in(receptionist)

    # the session with its user and permissions, the open flags with their
    # appointments, the bell's unread count, the nav's count of appointments to rebook
    with django_assert_num_queries(4):
        page = client.get(REBOOKING).content.decode()

    assert page.count('data-testid="rebooking-row"') == 8


# --- The time given back ----------------------------------------------------------


def test_deleting_the_time_off_takes_its_appointments_off_the_list(manager_client, smith, monday):
    manager_client.post(ADD_TIME_OFF, time_off_form(smith, *MONDAY_OFF, _save_anyway="1"))
    leave = TimeOff.objects.get()
    assert flagged(*monday[:2]) == [True, True]

    response = manager_client.post(
        reverse("admin:doctors_timeoff_delete", args=[leave.pk]), {"post": "yes"}, follow=True
    )

    assert "2 appointments no longer need rebooking" in response.content.decode()
    assert flagged(*monday[:2]) == [False, False]


def test_shortening_the_time_off_releases_only_what_it_no_longer_covers(
    manager_client, smith, monday
):
    manager_client.post(ADD_TIME_OFF, time_off_form(smith, *MONDAY_OFF, _save_anyway="1"))
    leave = TimeOff.objects.get()

    manager_client.post(
        reverse("admin:doctors_timeoff_change", args=[leave.pk]),
        time_off_form(smith, (NEXT_MONDAY, "00:00"), (NEXT_MONDAY, "12:00")),
    )

    assert flagged(*monday[:2]) == [True, False]  # Jane's 10:00 is still off; Bob's 14:00 back
