from tests.provisioning.modules.fusionpbx.fixtures import fpbx_server, fpbx_service, fusionpbx  # noqa: F401
