"""The VoIP tests that span the three providers (identifiers, the staff section, the import pipeline, the
simulators' shared inspection API) use each provider's fixtures; each provider's own tests are in tests/provisioning/modules/<vendor>/."""
from tests.provisioning.modules.fusionpbx.fixtures import fpbx_server, fpbx_service, fusionpbx  # noqa: F401
from tests.provisioning.modules.lesnet.fixtures import lesnet, lesnet_server, lesnet_service  # noqa: F401
from tests.provisioning.modules.vodia.fixtures import vodia, vodia_server, vodia_service  # noqa: F401
