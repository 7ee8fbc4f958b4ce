from tests.provisioning.modules.vodia.fixtures import vodia, vodia_server, vodia_service  # noqa: F401
