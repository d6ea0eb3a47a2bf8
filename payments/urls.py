from django.urls import path

from . import adjustment_views, cashup_views, views

app_name = "payments"

urlpatterns = [
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<id:pk>/", views.InvoiceView.as_view(), name="invoice"),
    path("invoices/<id:pk>/receipt/", views.ReceiptView.as_view(), name="receipt"),
    path("invoices/<id:pk>/pay-at-desk/", views.DeskPaymentView.as_view(), name="desk_payment"),
    path("invoices/<id:pk>/pay-online/", views.OnlinePaymentView.as_view(), name="online_payment"),
    path("invoices/<id:pk>/send-link/", views.SendPayLinkView.as_view(), name="send_link"),
    path("invoices/<id:pk>/void/", views.VoidView.as_view(), name="void"),
    path("invoices/<id:pk>/discount/", adjustment_views.DiscountView.as_view(), name="discount"),
    path("invoices/<id:pk>/write-off/", adjustment_views.WriteOffView.as_view(), name="write_off"),
    path(
        "invoices/<id:pk>/adjustments/<id:adjustment_pk>/reverse/",
        adjustment_views.ReversalView.as_view(),
        name="reverse_adjustment",
    ),
    path(
        "invoices/<id:pk>/payments/<id:payment_pk>/refund/",
        views.RefundView.as_view(),
        name="refund",
    ),
    path("cash-up/", cashup_views.cash_up, name="cash_up"),
    # The patient's pages, from the link texted to them: no sign-in.
    path("pay/<str:token>/", views.pay, name="pay"),
    path("checkout/done/", views.checkout_done, name="checkout_done"),
]
