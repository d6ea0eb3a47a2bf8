from django.urls import path

from . import views

app_name = "sessions"
urlpatterns = [
    path("start/<id:appointment_pk>/", views.StartSessionView.as_view(), name="start"),
    path(
        "appointment/<id:appointment_pk>/",
        views.AppointmentSessionView.as_view(),
        name="for_appointment",
    ),
]
