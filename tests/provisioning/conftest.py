from tests.provisioning.smartermail_fixtures import sm_server, sm_service, smartermail  # noqa: F401
