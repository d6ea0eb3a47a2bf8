from django.urls import path

from . import views

app_name = "records"
urlpatterns = [
    path("patients/<id:patient_pk>/chart/", views.ChartView.as_view(), name="chart"),
    path(
        "patients/<id:patient_pk>/chart/emergency-access/",
        views.EmergencyAccessView.as_view(),
        name="emergency_access",
    ),
    path("notes/<id:note_pk>/addenda/", views.AddendumView.as_view(), name="add_addendum"),
    path("sessions/<id:pk>/", views.SessionView.as_view(), name="session"),
    path(
        "prescriptions/<id:pk>/print/",
        views.PrescriptionPrintView.as_view(),
        name="print_prescription",
    ),
]
