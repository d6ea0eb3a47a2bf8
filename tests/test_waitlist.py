"""The waitlist that refills freed times (DESIGN.md section 9, issue 18): who is
offered a freed time and in which order, the hold that keeps it meanwhile, and every
answer: YES or the link, NO, silence until the hold lapses.

The scene: Monday 30 November 2026 in New York, 08:00. Dr Smith works Mondays 09:00
to 17:00; a consultation lasts 30 minutes. Bob has next Monday 10:00 to 10:30 with
Dr Smith. The rules are the defaults: 2 hours' notice, offers held 15 minutes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from doctors.models import Doctor
from notifications.inbound import handle_reply
from notifications.models import Notification
from online.models import OnlineRules, TimesOfDay, WaitlistEntry, WaitlistOffer
from online.waitlist import (
    OfferGone,
    WaitlistError,
    accept_offer,
    decline_offer,
    expire_offers,
    join_waitlist,
    leave_waitlist,
    offer_for_link,
    refill,
    set_priority,
    times_of_day_worked,
)
from patients.services import merge_patients
from scheduling.exceptions import Overlap
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_appointment, cancel_appointment, reschedule_appointment
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, PatientFactory, TimeOffFactory

NEXT_MONDAY = MONDAY + timedelta(days=7)
Via = AppointmentChange.Via


@pytest.fixture(autouse=True)
def monday_morning(time_machine, settings) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"


@pytest.fixture
def bobs(smith, bob, consultation) -> Appointment:
    return book_appointment(
        patient=bob,
        doctor=smith,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        booked_by=None,
    )


def wait(patient, service, **wish) -> WaitlistEntry:
    fields = {
        "doctor": None,
        "date_from": NEXT_MONDAY,
        "date_to": NEXT_MONDAY + timedelta(days=6),
        "source": WaitlistEntry.Source.DESK,
        **wish,
    }
    return join_waitlist(patient=patient, service=service, **fields)


def cancel(appointment, django_capture_on_commit_callbacks):
    """Cancel at the desk; the refill runs once the cancellation commits."""
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment=appointment, reason="Patient called", by=None)


def open_offer(entry: WaitlistEntry) -> WaitlistOffer:
    return entry.offers.get(status=WaitlistOffer.Status.OPEN)


def offer_text(entry: WaitlistEntry) -> Notification:
    return Notification.objects.get(template="waitlist_offer", patient=entry.patient)


def link_token(text: Notification) -> str:
    url = next(word for word in text.body.split() if "/book/offer/" in word)
    return url.rstrip("/").rsplit("/", 1)[1]


# --- Joining -------------------------------------------------------------------------


def test_joining_twice_updates_the_wish_rather_than_queueing_twice(jane, consultation):
    first = wait(jane, consultation)
    again = wait(jane, consultation, times_of_day=TimesOfDay.MORNING)

    assert again.pk == first.pk
    assert WaitlistEntry.objects.get().times_of_day == TimesOfDay.MORNING


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        (NEXT_MONDAY, MONDAY, "last date is before the first"),
        (MONDAY - timedelta(days=9), MONDAY - timedelta(days=2), "past"),
        (MONDAY, MONDAY + timedelta(days=120), "at most 90 days"),
    ],
)
def test_a_wish_that_cannot_be_met_is_refused(jane, consultation, date_from, date_to, message):
    with pytest.raises(WaitlistError, match=message):
        wait(jane, consultation, date_from=date_from, date_to=date_to)
    assert not WaitlistEntry.objects.exists()


# --- Offering a freed time -------------------------------------------------------------


def test_a_cancelled_time_is_held_and_offered_to_the_first_waiter(
    bobs, jane, consultation, smith, django_capture_on_commit_callbacks
):
    entry = wait(jane, consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    offer = open_offer(entry)
    hold = offer.hold
    assert (hold.status, hold.patient, hold.doctor) == (Status.HELD, jane, smith)
    assert (hold.starts_at, hold.ends_at) == (at(NEXT_MONDAY, 10), at(NEXT_MONDAY, 10, 30))
    assert hold.held_until == offer.expires_at == at(MONDAY, 8, 15)
    assert hold.changes.get().action == AppointmentChange.Action.HELD
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    text = offer_text(entry).body
    assert "Mon 7 Dec at 10:00 AM" in text
    assert "held for you until 8:15 AM" in text
    assert "Reply YES" in text
    assert offer_for_link(link_token(offer_text(entry))) == offer


def test_a_hold_refuses_every_other_booking_of_its_time(
    bobs, jane, consultation, smith, django_capture_on_commit_callbacks
):
    wait(jane, consultation)
    cancel(bobs, django_capture_on_commit_callbacks)
    someone = PatientFactory()

    with pytest.raises(Overlap, match="held for a patient on the waitlist"):
        book_appointment(
            patient=someone,
            doctor=smith,
            service=consultation,
            starts_at=at(NEXT_MONDAY, 10, 15),
            booked_by=None,
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's"
)
def test_the_database_refuses_a_row_over_a_hold(
    bobs, jane, consultation, smith, django_capture_on_commit_callbacks
):
    wait(jane, consultation)
    cancel(bobs, django_capture_on_commit_callbacks)

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(doctor=smith, service=consultation, starts_at=at(NEXT_MONDAY, 10))


def test_waiters_are_offered_in_turn_priority_first(
    bobs, jane, consultation, django_capture_on_commit_callbacks
):
    first_to_join = wait(jane, consultation)
    urgent = wait(PatientFactory(), consultation, priority=5)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert urgent.offers.filter(status=WaitlistOffer.Status.OPEN).exists()
    assert not first_to_join.offers.exists()


def test_only_waiters_who_want_that_time_are_offered_it(
    bobs, jane, consultation, jones, django_capture_on_commit_callbacks
):
    afternoons = wait(PatientFactory(), consultation, times_of_day=TimesOfDay.AFTERNOON)
    later = wait(PatientFactory(), consultation, date_from=NEXT_MONDAY + timedelta(days=1))
    with_jones = wait(PatientFactory(), consultation, doctor=jones)
    anyone = wait(jane, consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert [entry.offers.count() for entry in (afternoons, later, with_jones)] == [0, 0, 0]
    assert anyone.offers.count() == 1


def test_a_time_too_soon_is_not_offered(
    smith, bob, jane, consultation, django_capture_on_commit_callbacks
):
    soon = book_appointment(
        patient=bob, doctor=smith, service=consultation, starts_at=at(MONDAY, 9), booked_by=None
    )
    entry = wait(jane, consultation, date_from=MONDAY)

    cancel(soon, django_capture_on_commit_callbacks)  # 09:00 is inside the 2 hours' notice.

    assert not entry.offers.exists()


def test_a_longer_freed_time_is_shared_among_waiters(
    smith, bob, jane, consultation, django_capture_on_commit_callbacks
):
    long = book_appointment(
        patient=bob,
        doctor=smith,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        duration=timedelta(hours=1),
        booked_by=None,
    )
    first, second = wait(jane, consultation), wait(PatientFactory(), consultation)

    cancel(long, django_capture_on_commit_callbacks)

    assert open_offer(first).hold.starts_at == at(NEXT_MONDAY, 10)
    assert open_offer(second).hold.starts_at == at(NEXT_MONDAY, 10, 30)


def test_a_waiter_busy_at_that_time_is_passed_over(
    bobs, jane, consultation, jones, django_capture_on_commit_callbacks
):
    book_appointment(
        patient=jane,
        doctor=jones,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        booked_by=None,
    )
    busy = wait(jane, consultation)
    free = wait(PatientFactory(), consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert not busy.offers.exists()
    assert free.offers.count() == 1


def test_an_appointment_moved_away_frees_its_old_time(
    bobs, jane, consultation, django_capture_on_commit_callbacks
):
    entry = wait(jane, consultation, times_of_day=TimesOfDay.MORNING)

    with django_capture_on_commit_callbacks(execute=True):
        reschedule_appointment(appointment=bobs, starts_at=at(NEXT_MONDAY, 15), by=None)

    assert open_offer(entry).hold.starts_at == at(NEXT_MONDAY, 10)


def test_time_off_removed_is_offered(smith, jane, consultation, django_capture_on_commit_callbacks):
    leave = TimeOffFactory(doctor=smith, starts_at=at(NEXT_MONDAY, 9), ends_at=at(NEXT_MONDAY, 17))
    entry = wait(jane, consultation)

    with django_capture_on_commit_callbacks(execute=True):
        leave.delete()

    assert open_offer(entry).hold.starts_at == at(NEXT_MONDAY, 9)


def test_a_rolled_back_cancellation_offers_nothing(
    bobs, jane, consultation, django_capture_on_commit_callbacks
):
    entry = wait(jane, consultation)

    def cancel_then_fail() -> None:
        with transaction.atomic():
            cancel_appointment(appointment=bobs, reason="Patient called", by=None)
            raise RuntimeError("the request failed after the cancellation")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        cancel_then_fail()

    assert not entry.offers.exists()


# --- Answers -----------------------------------------------------------------------------


@pytest.fixture
def offered(bobs, jane, consultation, django_capture_on_commit_callbacks):
    """Bob cancelled; Jane, first on the list, is offered his time; Ann is next."""
    jane.phone = "+12025550111"
    jane.save()
    entry = wait(jane, consultation)
    wait(PatientFactory(given_name="Ann", phone="+12025550122"), consultation)
    cancel(bobs, django_capture_on_commit_callbacks)
    return entry


def test_taking_the_offer_by_the_link_books_it(offered, jane):
    offer = open_offer(offered)

    appointment = accept_offer(offer=offer, via=Via.ONLINE)

    assert appointment.pk == offer.hold_id
    assert (appointment.status, appointment.patient, appointment.held_until) == (
        Status.BOOKED,
        jane,
        None,
    )
    taken = appointment.changes.get(action=AppointmentChange.Action.HOLD_TAKEN)
    assert taken.via == Via.ONLINE
    offered.refresh_from_db()
    assert (offered.status, offered.appointment) == (WaitlistEntry.Status.BOOKED, appointment)
    # Booked as any booking is: the patient is texted, with the link to manage it.
    assert (
        "/book/m/"
        in Notification.objects.get(appointment=appointment, template="appointment_booked").body
    )


def test_taking_it_twice_gives_the_same_appointment(offered):
    offer = open_offer(offered)

    first = accept_offer(offer=offer, via=Via.ONLINE)
    again = accept_offer(offer=offer, via=Via.SMS)

    assert again == first
    assert Appointment.objects.filter(status=Status.BOOKED, patient=offered.patient).count() == 1


def test_replying_yes_takes_the_offer(offered, jane):
    handle_reply(from_number=jane.phone.as_e164, body="Yes!", message_sid="SM1")

    hold = WaitlistOffer.objects.get(entry=offered).hold
    hold.refresh_from_db()
    assert hold.status == Status.BOOKED
    assert hold.changes.get(action=AppointmentChange.Action.HOLD_TAKEN).via == Via.SMS


def test_replying_no_passes_the_time_to_the_next_waiter(offered, jane):
    reply = handle_reply(from_number=jane.phone.as_e164, body="no", message_sid="SM2")

    assert "no longer held for you. You are still on the waitlist" in reply
    declined = WaitlistOffer.objects.get(entry=offered)
    assert declined.status == WaitlistOffer.Status.DECLINED
    offered.refresh_from_db()
    assert offered.status == WaitlistEntry.Status.WAITING  # Still on the list.
    ann = WaitlistEntry.objects.get(patient__given_name="Ann")
    held = open_offer(ann).hold
    assert (held.starts_at, held.status) == (at(NEXT_MONDAY, 10), Status.HELD)
    assert Appointment.objects.get(pk=declined.hold_id).status == Status.RELEASED


def test_a_lapsed_offer_goes_to_the_next_waiter(offered, time_machine):
    time_machine.move_to(at(MONDAY, 8, 15), tick=False)

    assert expire_offers() == 1
    assert expire_offers() == 0  # Run twice, as a worker may: nothing more.

    assert WaitlistOffer.objects.get(entry=offered).status == WaitlistOffer.Status.EXPIRED
    lapsed = Notification.objects.get(template="waitlist_offer_lapsed")
    assert "still on the waitlist" in lapsed.body
    ann = WaitlistEntry.objects.get(patient__given_name="Ann")
    assert open_offer(ann).expires_at == at(MONDAY, 8, 30)


def test_a_late_yes_is_told_the_time_has_gone(offered, jane, time_machine):
    offer = open_offer(offered)
    time_machine.move_to(at(MONDAY, 8, 16), tick=False)  # Lapsed; the worker has not run yet.

    with pytest.raises(OfferGone, match="lapsed"):
        accept_offer(offer=offer, via=Via.SMS)

    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.EXPIRED
    ann = WaitlistEntry.objects.get(patient__given_name="Ann")
    assert open_offer(ann)


def test_a_yes_after_passing_is_refused(offered, jane):
    offer = open_offer(offered)
    decline_offer(offer=offer)

    with pytest.raises(OfferGone):
        accept_offer(offer=offer, via=Via.ONLINE)


def test_when_nobody_else_wants_it_the_time_is_freed(offered, smith, consultation, time_machine):
    time_machine.move_to(at(MONDAY, 8, 15), tick=False)
    expire_offers()  # To Ann.
    time_machine.move_to(at(MONDAY, 8, 30), tick=False)
    expire_offers()  # Nobody left who was not offered it.

    assert not WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN).exists()
    assert not Appointment.objects.filter(status=Status.HELD).exists()
    someone = PatientFactory()
    book_appointment(
        patient=someone,
        doctor=smith,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        booked_by=None,
    )


def test_leaving_the_waitlist_withdraws_the_offer_and_passes_it_on(offered):
    leave_waitlist(entry=offered)

    offered.refresh_from_db()
    assert offered.status == WaitlistEntry.Status.REMOVED
    assert WaitlistOffer.objects.get(entry=offered).status == WaitlistOffer.Status.WITHDRAWN
    assert open_offer(WaitlistEntry.objects.get(patient__given_name="Ann"))


def test_yes_without_an_offer_still_confirms_the_next_appointment(smith, jane, consultation):
    jane.phone = "+12025550111"
    jane.save()
    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 11),
        booked_by=None,
    )

    handle_reply(from_number="+12025550111", body="YES", message_sid="SM3")

    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    assert appointment.changes.get(action=AppointmentChange.Action.CONFIRMED).via == Via.SMS


def test_rules_set_how_long_an_offer_is_held(
    bobs, jane, consultation, django_capture_on_commit_callbacks
):
    OnlineRules(offer_hold_minutes=30).save()
    entry = wait(jane, consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert open_offer(entry).expires_at == at(MONDAY, 8, 30)


def test_a_merge_keeps_one_place_per_service(jane, bob, consultation, manager):
    wait(jane, consultation)
    twins_place = wait(bob, consultation)

    merge_patients(kept=jane, merged=bob, by=manager)

    assert list(WaitlistEntry.objects.waiting().values_list("patient", flat=True)) == [jane.pk]
    twins_place.refresh_from_db()
    assert twins_place.status == WaitlistEntry.Status.REMOVED


def test_joining_again_with_a_priority_takes_it(jane, consultation):
    wait(jane, consultation)

    again = wait(jane, consultation, priority=7)
    unchanged = wait(jane, consultation)

    assert again.priority == unchanged.priority == 7


def test_a_doctor_who_does_not_offer_the_service_is_refused(jane, consultation, smith, jones):
    consultation.doctors.set([smith])

    with pytest.raises(WaitlistError, match="does not offer Consultation"):
        wait(jane, consultation, doctor=jones)
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize("priority", [100, -100, 40000])
def test_a_priority_out_of_range_is_refused(jane, consultation, priority):
    entry = wait(jane, consultation)

    with pytest.raises(WaitlistError, match="from -99 to 99"):
        set_priority(entry=entry, priority=priority)
    with pytest.raises(WaitlistError, match="from -99 to 99"):
        wait(PatientFactory(), consultation, priority=priority)


@pytest.mark.parametrize("answer", ["Sí", "نعم"])
def test_yes_in_the_patients_language_takes_the_offer(offered, jane, answer):
    handle_reply(from_number=jane.phone.as_e164, body=answer, message_sid=f"SM-{answer}")

    assert WaitlistOffer.objects.get(entry=offered).status == WaitlistOffer.Status.ACCEPTED


def test_no_in_arabic_passes(offered, jane):
    handle_reply(from_number=jane.phone.as_e164, body="لا", message_sid="SM-la")

    assert WaitlistOffer.objects.get(entry=offered).status == WaitlistOffer.Status.DECLINED


def test_an_offer_made_in_quiet_hours_is_held_from_the_morning(
    bobs, jane, consultation, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(at(MONDAY, 22, 30), tick=False)  # Quiet until 08:00.
    entry = wait(jane, consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert open_offer(entry).expires_at == at(MONDAY + timedelta(days=1), 8, 15)
    time_machine.move_to(at(MONDAY, 23, 45), tick=False)
    assert expire_offers() == 0  # Not lapsed overnight, before its text could go.


def test_a_waiter_who_cannot_be_texted_is_not_offered(
    bobs, jane, consultation, django_capture_on_commit_callbacks
):
    jane.set_sms_opt_out(True)
    jane.save()
    no_phone = PatientFactory(phone="")
    wait(jane, consultation)
    wait(no_phone, consultation)
    reachable = wait(PatientFactory(), consultation)

    cancel(bobs, django_capture_on_commit_callbacks)

    assert list(WaitlistOffer.objects.values_list("entry", flat=True)) == [reachable.pk]


def test_an_online_waiter_for_any_doctor_is_offered_only_doctors_bookable_online(
    bobs, jane, consultation, smith, django_capture_on_commit_callbacks
):
    online = wait(jane, consultation, source=WaitlistEntry.Source.ONLINE)
    at_the_desk = wait(PatientFactory(), consultation)

    cancel(bobs, django_capture_on_commit_callbacks)  # Dr Smith is not bookable online.

    assert not online.offers.exists()
    assert at_the_desk.offers.count() == 1


def test_one_waiter_is_never_offered_two_times_at_once(smith, jones, bob, jane, consultation):
    """Two refills for one waiter who takes any doctor: the second finds them
    offered already (a rival refill's conditional claim)."""
    entry = wait(jane, consultation)

    first = refill(doctor=smith, starts_at=at(NEXT_MONDAY, 10), ends_at=at(NEXT_MONDAY, 10, 30))
    second = refill(doctor=jones, starts_at=at(NEXT_MONDAY, 14), ends_at=at(NEXT_MONDAY, 14, 30))

    assert len(first) == 1
    assert second == []
    assert entry.offers.count() == 1


def test_taking_an_offer_into_new_time_off_is_refused_and_frees_it(offered, smith, time_machine):
    offer = open_offer(offered)
    TimeOffFactory(doctor=smith, starts_at=at(NEXT_MONDAY, 9), ends_at=at(NEXT_MONDAY, 12))

    with pytest.raises(OfferGone):
        accept_offer(offer=offer, via=Via.SMS)

    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.WITHDRAWN
    assert not Appointment.objects.filter(
        status__in=[Status.BOOKED, Status.HELD], starts_at=at(NEXT_MONDAY, 10)
    ).exists()


def test_yes_with_more_words_takes_the_offer(offered, jane):
    handle_reply(from_number=jane.phone.as_e164, body="Yes please!", message_sid="SM-more")

    assert WaitlistOffer.objects.get(entry=offered).status == WaitlistOffer.Status.ACCEPTED


def test_cancelling_by_text_inside_the_late_cancel_cutoff_asks_for_a_call(
    smith, jane, consultation, time_machine, settings
):
    settings.CLINIC_PHONE = "+1 202 555 0100"
    jane.phone = "+12025550111"
    jane.save()
    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 11),
        booked_by=None,
    )
    time_machine.move_to(at(NEXT_MONDAY, 8), tick=False)

    reply = handle_reply(from_number="+12025550111", body="X", message_sid="SM-late")

    assert "too late to cancel by text. Please call +1 202 555 0100" in reply
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_booking_over_a_hold_says_it_is_held_and_until_when(offered, smith, consultation):
    with pytest.raises(Overlap, match="is held for a patient on the waitlist until 08:15"):
        book_appointment(
            patient=PatientFactory(),
            doctor=smith,
            service=consultation,
            starts_at=at(NEXT_MONDAY, 10),
            booked_by=None,
        )


def test_joining_texts_the_patient_what_they_wait_for_once(jane, consultation, smith):
    wait(jane, consultation, doctor=smith)
    wait(jane, consultation, doctor=smith, times_of_day=TimesOfDay.MORNING)  # A changed wish.

    [text] = Notification.objects.filter(template="waitlist_joined", patient=jane)
    assert "on our waitlist for a time with Dr Smith from Mon 7 Dec to Sun 13 Dec" in text.body


def test_times_of_day_are_those_the_doctors_work(smith):
    """Dr Smith works 09:00 to 17:00: mornings and afternoons, no evenings."""
    offered = [value for value, _label in times_of_day_worked(Doctor.objects.filter(pk=smith.pk))]

    assert offered == [TimesOfDay.ANY, TimesOfDay.MORNING, TimesOfDay.AFTERNOON]
