"""Client-area VoIP pages, merged into the `clientarea` namespace by config.urls_clientarea. The kwarg is
`voip_service_id` (not `service_id`): only VoIP services have call records, so the isolation test makes one
(tests/voip/isolation.py)."""
from django.urls import path

from voip import views

urlpatterns = [
    path("services/<int:voip_service_id>/calls/", views.calls, name="voip_calls"),
    path("services/<int:voip_service_id>/calls.csv", views.calls_csv, name="voip_calls_csv"),
]
