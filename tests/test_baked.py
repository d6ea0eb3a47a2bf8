"""Baked queries (clinic/kernel/baked.py): each of the app's answers what its queryset
answers, for several values, and a query that cannot bake is refused."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission, User
from django.db.models import Model
from django.utils import timezone

from clinic.kernel.baked import Baked, BakingError
from clinic.models import StaffSession
from clinic.sessions import SESSION_WITH_USER
from clinic.tokens import TOKEN_WITH_USER, issue_token
from doctors.models import Doctor, Weekday
from notifications import selectors as notification_selectors
from notifications.models import Channel
from notifications.models import Status as MessageStatus
from patients.models import Patient
from scheduling import overlaps
from scheduling import selectors as scheduling_selectors
from scheduling.availability import day_bounds
from scheduling.models import Status
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    NotificationFactory,
    PatientFactory,
    ReceptionistFactory,
    TimeOffFactory,
    with_working_hours,
)

MONDAY = date(2026, 12, 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def data(found: Any) -> Any:
    """What an answer holds, to compare: a model's fields, its annotations and the
    rows select_related put in it; rows as they are."""
    if isinstance(found, list | tuple):
        return [data(item) for item in found]
    if not isinstance(found, Model):
        return found
    fields = {f.attname: getattr(found, f.attname) for f in found._meta.concrete_fields}
    extra = {
        name: value
        for name, value in vars(found).items()
        if not name.startswith("_") and name not in fields
    }
    related = {name: data(value) for name, value in found._state.fields_cache.items()}
    return (type(found).__name__, fields, extra, related)


def same_answer(baked: Baked[Any], queryset_of, **values: Any) -> Any:
    expected = list(queryset_of(**values))
    answer = baked.run(**values)
    assert data(answer) == data(expected)
    return answer


@pytest.mark.django_db
def test_the_session_with_its_user_and_permissions(smith, client):
    user = smith.user
    user.user_permissions.add(Permission.objects.get(codename="view_patient"))
    # The doctors' group (made by a migration) gives the rest.
    group = user.groups.get()
    from_group = group.permissions.select_related("content_type").first()
    assert from_group is not None
    client.force_login(user)
    key = client.session.session_key
    anonymous = StaffSession.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() + timedelta(days=1)
    )
    build = SESSION_WITH_USER.build
    now = timezone.now()
    (row,) = same_answer(SESSION_WITH_USER, build, key=key, now=now)
    assert row.user == user
    # Exactly Django's own reading of them, the user's and their group's, no more.
    everything = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
    assert set(row.permission_names.split(",")) == everything
    assert {
        "patients.view_patient",
        f"{from_group.content_type.app_label}.{from_group.codename}",
    } <= everything
    (row,) = same_answer(SESSION_WITH_USER, build, key=anonymous.session_key, now=now)
    assert row.user is None
    assert same_answer(SESSION_WITH_USER, build, key=key, now=now + timedelta(days=400)) == []
    assert same_answer(SESSION_WITH_USER, build, key="nobody", now=now) == []


@pytest.mark.django_db
def test_the_token_with_its_user():
    clerk = ReceptionistFactory()
    row, _token = issue_token(user=clerk, name="Desk script")
    (found,) = same_answer(TOKEN_WITH_USER, TOKEN_WITH_USER.build, prefix=row.prefix)
    assert found.user == clerk
    assert found.key_hash == row.key_hash
    assert same_answer(TOKEN_WITH_USER, TOKEN_WITH_USER.build, prefix="nothing") == []
    clerk.is_active = False
    clerk.save()
    assert same_answer(TOKEN_WITH_USER, TOKEN_WITH_USER.build, prefix=row.prefix) == []


@pytest.mark.django_db
def test_the_polls_markers(smith, jane, consultation):
    day = MONDAY
    AppointmentFactory(doctor=smith, patient=jane, service=consultation, starts_at=at(day, 9))
    AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(day, 11), reason="Cough"
    )
    AppointmentFactory(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(day, 10),
        status=Status.RELEASED,
    )
    bounds = day_bounds(day)
    marker = scheduling_selectors._DOCTOR_DAY_MARKER
    for starts, ends in [(bounds.starts_at, bounds.ends_at), (at(day, 10), at(day, 23))]:
        rows = same_answer(marker, marker.build, user_id=smith.user.pk, starts=starts, ends=ends)
        assert rows
        assert all(row[0] == smith.pk for row in rows)
    NotificationFactory(
        patient=None,
        user=smith.user,
        channel=Channel.IN_APP,
        status=MessageStatus.SENT,
        body="Jane Doe has arrived.",
    )
    live = notification_selectors._LIVE_MARKER
    (row,) = same_answer(live, live.build, user_id=smith.user.pk)
    assert row[0] == 1
    assert row[3] == "Jane Doe has arrived."
    assert same_answer(live, live.build, user_id=jane.pk + 10_000) == []


@pytest.mark.django_db
def test_the_day_of_a_booking(smith, jane, bob, consultation):
    with_working_hours(smith, Weekday.MONDAY)
    AppointmentFactory(doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 9))
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 14), ends_at=at(MONDAY, 15))

    def values(starts_at: datetime, patient: Patient, doctor: Doctor = smith) -> dict[str, Any]:
        return overlaps._booking_day_values(
            consultation, doctor, patient, starts_at, starts_at + timedelta(minutes=30)
        )

    answers = {}
    for label, starts_at, patient in [
        ("clear", at(MONDAY, 10), jane),
        ("the doctor's appointment", at(MONDAY, 9), jane),
        ("time off", at(MONDAY, 14), jane),
        ("the patient's appointment elsewhere", at(MONDAY, 9, 15), bob),
    ]:
        hours, *_rest = same_answer(
            overlaps.BOOKING_DAY, overlaps._booking_day, **values(starts_at, patient)
        )
        answers[label] = hours.clear
    assert answers == {
        "clear": True,
        "the doctor's appointment": False,
        "time off": False,
        "the patient's appointment elsewhere": False,
    }
    other = DoctorFactory()
    assert (
        same_answer(
            overlaps.BOOKING_DAY, overlaps._booking_day, **values(at(MONDAY, 10), jane, other)
        )
        == []
    )


# --- What cannot bake ---------------------------------------------------------------


def test_a_value_computed_from_a_given_one_is_refused(db):
    derived = Baked(
        lambda *, starts: Patient.objects.filter(created_at__gt=starts - timedelta(hours=1)),
        starts=datetime,
    )
    with pytest.raises(BakingError, match="computed from a value given"):
        derived.run(starts=timezone.now())


def test_the_clock_read_while_building_is_refused(db):
    clocked = Baked(
        lambda *, pk: Patient.objects.filter(pk=pk, created_at__lt=timezone.now()), pk=int
    )
    with pytest.raises(BakingError, match="computed from a value given"):
        clocked.run(pk=1)


def test_a_value_a_lookup_transforms_or_never_uses_is_refused(db):
    wrapped = Baked(lambda *, name: Patient.objects.filter(family_name__icontains=name), name=str)
    with pytest.raises(BakingError, match="computed from a value given"):
        wrapped.run(name="Doe")
    unused = Baked(lambda *, name: Patient.objects.filter(family_name="Doe"), name=str)
    with pytest.raises(BakingError, match="does not use"):
        unused.run(name="Doe")


def test_prefetches_and_other_kinds_are_refused(db):
    with pytest.raises(BakingError):
        Baked(lambda *, pks: Patient.objects.filter(pk__in=pks), pks=list)
    prefetching = Baked(
        lambda *, pk: Patient.objects.filter(pk=pk).prefetch_related("appointments"), pk=int
    )
    with pytest.raises(BakingError, match="prefetches"):
        prefetching.run(pk=1)
    with pytest.raises(TypeError):
        Baked(lambda *, pk: Patient.objects.filter(pk=pk), pk=int).run(id=1)


def test_values_and_flat_values(db):
    jane = PatientFactory(given_name="Jane", family_name="Doe", date_of_birth=date(1980, 5, 17))
    PatientFactory(given_name="Bob", family_name="Doe")
    names = Baked(
        lambda *, family: (
            Patient.objects.filter(family_name=family)
            .order_by("given_name")
            .values_list("given_name", flat=True)
        ),
        family=str,
    )
    assert names.run(family="Doe") == ["Bob", "Jane"]
    born = Baked(
        lambda *, on: Patient.objects.filter(date_of_birth=on).values_list("pk", "date_of_birth"),
        on=date,
    )
    assert born.run(on=date(1980, 5, 17)) == [(jane.pk, date(1980, 5, 17))]
    assert born.run(on=date(1980, 5, 18)) == []


def test_a_value_a_day_or_one_more_than_another_is_refused(db):
    later = Baked(
        lambda *, starts, ends: Patient.objects.filter(
            created_at__gt=starts, created_at__lt=ends - timedelta(days=1)
        ),
        starts=datetime,
        ends=datetime,
    )
    with pytest.raises(BakingError, match="computed from a value given"):
        later.run(starts=timezone.now(), ends=timezone.now())
    next_one = Baked(
        lambda *, first, second: Patient.objects.filter(pk__in=[first, second + 1]),
        first=int,
        second=int,
    )
    with pytest.raises(BakingError, match="computed from a value given"):
        next_one.run(first=1, second=2)


def test_values_of_the_wrong_kind_are_refused(db):
    by_day = Baked(lambda *, on: Patient.objects.filter(date_of_birth=on), on=date)
    with pytest.raises(TypeError):
        by_day.run(on=timezone.now())
    since = Baked(lambda *, at: Patient.objects.filter(created_at__gt=at), at=datetime)
    with pytest.raises(TypeError, match="aware"):
        since.run(at=datetime(2026, 12, 1, 9))
    by_pk = Baked(lambda *, pk: Patient.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError):
        by_pk.run(pk="1")
