from django.contrib import admin
from django.urls import include, path

from api.whmcs.views import api_php
from portal import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("api/", include("api.urls")),
    path("includes/api.php", api_php, name="whmcs_api"),
    path("voip/", include("voip.urls")),
    path("payments/", include("payments.urls")),
    path("store/", include("storefront.urls")),
    path("", include("config.urls_clientarea")),
]
