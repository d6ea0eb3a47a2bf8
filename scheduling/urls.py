from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.DayView.as_view(), name="day"),
    path("book/", views.BookingView.as_view(), name="book"),
    path("my-day/", views.MyDayView.as_view(), name="my_day"),
    path("appointments/<id:pk>/", views.AppointmentDetailView.as_view(), name="detail"),
    path(
        "appointments/<id:pk>/reschedule/",
        views.RescheduleView.as_view(),
        name="reschedule",
    ),
    path(
        "appointments/<id:pk>/<slug:action>/",
        views.AppointmentActionView.as_view(),
        name="action",
    ),
]
