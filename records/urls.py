from django.urls import path

from .views import chart, session

app_name = "records"
urlpatterns = [
    path("patients/<id:patient_pk>/chart/", chart.ChartView.as_view(), name="chart"),
    path(
        "patients/<id:patient_pk>/chart/emergency-access/",
        chart.EmergencyAccessView.as_view(),
        name="emergency_access",
    ),
    path(
        "patients/<id:patient_pk>/chart/record/",
        chart.MedicalRecordEditView.as_view(),
        name="edit_record",
    ),
    path("notes/<id:note_pk>/addenda/", chart.AddendumView.as_view(), name="add_addendum"),
    path("sessions/<id:pk>/", session.SessionView.as_view(), name="session"),
    path(
        "prescriptions/<id:pk>/print/",
        session.PrescriptionPrintView.as_view(),
        name="print_prescription",
    ),
]
