from tests.provisioning.modules.smartermail.fixtures import sm_server, sm_service, smartermail  # noqa: F401
