"""The public booking site, at /book/ (no staff login)."""

from django.urls import path

from . import views

app_name = "online"

urlpatterns = [
    path("", views.home, name="home"),
    path("m/<str:token>/", views.manage, name="manage"),
    path("offer/<str:token>/", views.offer, name="offer"),
]
