from django.urls import path

from . import views

app_name = "records"
urlpatterns = [
    path("patients/<id:patient_pk>/chart/", views.ChartView.as_view(), name="chart"),
    path("notes/<id:note_pk>/addenda/", views.AddendumView.as_view(), name="add_addendum"),
]
