from django.apps import apps
from rest_framework.routers import DefaultRouter

from api.rest import views
from api.rest.cdrs import CdrViewSet
from api.rest.contacts_billable import BillableItemViewSet, ContactViewSet

router = DefaultRouter()
router.register("clients", views.ClientViewSet)
router.register("products", views.ProductViewSet)
router.register("services", views.ServiceViewSet)
router.register("invoices", views.InvoiceViewSet)
router.register("payments", views.PaymentViewSet)
router.register("activity", views.ActivityLogViewSet)
router.register("contacts", ContactViewSet)
router.register("billable-items", BillableItemViewSet)

if apps.is_installed("voip") and any(m.__name__ == "Cdr" for m in apps.get_app_config("voip").get_models()):
    router.register("cdrs", CdrViewSet)
