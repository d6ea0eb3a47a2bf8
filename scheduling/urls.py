from django.urls import path

from .views import appointment, booking, cancel, days, rebooking, walk_in

app_name = "scheduling"
urlpatterns = [
    path("", days.DayView.as_view(), name="day"),
    path("week/", days.WeekView.as_view(), name="week"),
    path("book/", booking.BookingView.as_view(), name="book"),
    path("walk-in/", walk_in.WalkInView.as_view(), name="walk_in"),
    path("rebooking/", rebooking.RebookingListView.as_view(), name="rebooking"),
    path(
        "rebooking/<id:pk>/text-patient/",
        rebooking.PromiseCallView.as_view(),
        name="rebooking_text",
    ),
    path("my-day/", days.MyDayView.as_view(), name="my_day"),
    path("appointments/<id:pk>/", appointment.AppointmentDetailView.as_view(), name="detail"),
    path(
        "appointments/<id:pk>/reschedule/",
        booking.RescheduleView.as_view(),
        name="reschedule",
    ),
    path("appointments/<id:pk>/cancel/", cancel.CancelView.as_view(), name="cancel"),
    path(
        "appointments/<id:pk>/<slug:action>/",
        appointment.AppointmentActionView.as_view(),
        name="action",
    ),
]
