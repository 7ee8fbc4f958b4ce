"""Client-area billing pages, merged into the `clientarea` namespace by portal.urls_clientarea. The invoice
detail page (`clientarea:invoice`) is portal's URL, served by billing.views.invoice_detail."""
from django.urls import path

from billing import views

urlpatterns = [
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/pay-from-credit/", views.invoice_pay_credit, name="invoice_pay_credit"),
    path("add-funds/", views.add_funds, name="add_funds"),
    path("order/", views.order, name="order"),
    path("services/<int:service_id>/change/", views.service_change, name="service_change"),
    path("services/<int:service_id>/cancel/", views.service_cancel, name="service_cancel"),
]
