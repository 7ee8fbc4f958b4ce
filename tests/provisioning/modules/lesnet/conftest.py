from tests.provisioning.modules.lesnet.fixtures import lesnet, lesnet_server, lesnet_service  # noqa: F401
