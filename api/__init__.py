"""The portal's APIs: a REST API (Django REST framework, OpenAPI schema) and a WHMCS-compatible API at
/includes/api.php. Both authenticate with the same staff API keys (api.models.ApiKey) and only call the
domain's services and selectors: no business rule lives here."""
