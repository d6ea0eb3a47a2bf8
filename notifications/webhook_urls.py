from django.urls import path

app_name = "twilio"

urlpatterns: list = []
