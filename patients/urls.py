from django.urls import path

from . import merge_views, views

app_name = "patients"
urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("new/", views.PatientCreateView.as_view(), name="create"),
    path("<id:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("<id:pk>/edit/", views.PatientUpdateView.as_view(), name="edit"),
    path("<id:pk>/reviewed/", views.MarkReviewedView.as_view(), name="reviewed"),
    path("<id:pk>/merge/", merge_views.ChooseDuplicateView.as_view(), name="merge"),
    path(
        "<id:pk>/merge/<id:other>/",
        merge_views.ConfirmMergeView.as_view(),
        name="merge_confirm",
    ),
]
