"""Client-area payment pages, merged into the `clientarea` namespace by config.urls_clientarea."""
urlpatterns = []
