from django.urls import path

from . import views

app_name = "sessions"
urlpatterns = [
    path("start/<int:appointment_pk>/", views.StartSessionView.as_view(), name="start"),
    path("<int:pk>/", views.SessionView.as_view(), name="detail"),
    path(
        "appointment/<int:appointment_pk>/",
        views.AppointmentSessionView.as_view(),
        name="for_appointment",
    ),
    path(
        "prescriptions/<int:pk>/print/",
        views.PrescriptionPrintView.as_view(),
        name="print_prescription",
    ),
]
