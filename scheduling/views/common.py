"""What the scheduling pages share: the day a page is asked for, the links around it,
how a page names an appointment, and the appointments a user may open."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.dates import format_day, format_time_of_day, validate_schedule_date
from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user

from ..models import Appointment
from ..selectors import appointment_detail, appointments_visible_to


def requested_day(request: HttpRequest) -> date:
    """The day asked for in ?date=YYYY-MM-DD; today (in the clinic) when absent. A
    date that cannot be read, or too far from today to be a schedule anyone keeps,
    shows today with a message saying so (a person typed it, or an old bookmark)."""
    asked = request.GET.get("date", "").strip()
    if not asked:
        return timezone.localdate()
    try:
        day = date.fromisoformat(asked)
        validate_schedule_date(day)
    except ValueError:
        problem = _("“%(date)s” is not a date (YYYY-MM-DD).") % {"date": asked[:40]}
    except ValidationError as error:
        problem = error.messages[0]
    else:
        return day
    # Said on the page, not on its background refreshes (which would pile it up).
    if not is_htmx(request):
        messages.warning(request, _("%(problem)s Showing today.") % {"problem": problem})
    return timezone.localdate()


def day_navigation(day: date) -> dict[str, date]:
    return {
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": timezone.localdate(),
    }


def describe(appointment: Appointment) -> str:
    """Whose appointment with whom and when, for the pages' messages."""
    starts = timezone.localtime(appointment.starts_at)
    return _("%(patient)s with %(doctor)s on %(day)s at %(time)s") % {
        "patient": appointment.patient,
        "doctor": appointment.doctor,
        "day": format_day(starts, "D d M"),
        "time": format_time_of_day(starts),
    }


def visible_appointment(request: HttpRequest, pk: int) -> Appointment:
    if not appointments_visible_to(staff_user(request)).filter(pk=pk).exists():
        raise Http404("No such appointment.")
    return appointment_detail(pk=pk)
