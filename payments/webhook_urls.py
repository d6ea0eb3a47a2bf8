app_name = "stripe"

urlpatterns: list = []
