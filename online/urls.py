"""The public booking site, at /book/ (no staff login).

No patient data in any address: what the visitor chose and typed between the steps
is kept in their session (online/views/state.py). The steps of one service come
first, so a service whose code is "m" or "offer" still has them; the personal links'
tokens (10 characters of online.tokens.ALPHABET) never equal a step's name."""

from django.urls import path

from . import views

app_name = "online"

urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:code>/", views.service_times, name="service"),
    path("<slug:code>/waitlist/", views.waitlist, name="waitlist"),
    path("<slug:code>/details/", views.details, name="details"),
    path("<slug:code>/verify/", views.verify, name="verify"),
    path("<slug:code>/verify/new-code/", views.new_code, name="new_code"),
    path("<slug:code>/another-time/", views.another_time, name="another_time"),
    path("<slug:code>/booked/", views.booked, name="booked"),
    path("<slug:code>/waitlist/joined/", views.joined, name="joined"),
    path("m/<str:token>/", views.manage, name="manage"),
    path("m/<str:token>/cancel/", views.cancel, name="cancel"),
    path("m/<str:token>/move/", views.move, name="move"),
    path("offer/<str:token>/", views.offer, name="offer"),
]
