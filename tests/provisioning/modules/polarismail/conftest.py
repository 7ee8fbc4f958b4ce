from tests.provisioning.modules.polarismail.fixtures import pm_live, pm_server, pm_service, polarismail  # noqa: F401
