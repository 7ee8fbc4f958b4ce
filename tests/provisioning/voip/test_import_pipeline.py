"""The providers' records through the portal's scheduled import (voip.services.fetching): the module fetches
from its simulator (FusionPBX: the simulator's database file; LesNet: over HTTP), the import matches each call to the service by the module_data keys of
docs/voip-providers.md §1, and importing again inserts nothing."""
import pytest

from tests.provisioning.modules.fusionpbx.fixtures import TENANT
from tests.provisioning.modules.lesnet.fixtures import PEER
from tests.provisioning.modules.voip_fixtures import voip_service
from voip.models import Cdr, CdrSource
from voip.services.fetching import import_source

pytestmark = pytest.mark.django_db


def test_fusionpbx_calls_of_a_shared_domain_go_to_the_service_owning_the_extension(fpbx_server, fusionpbx):
    first = voip_service("fusionpbx", fpbx_server, {"tenant": TENANT, "extensions": ["101"]}, status="active")
    second = voip_service("fusionpbx", fpbx_server, {"tenant": TENANT, "extensions": ["102"]}, status="active",
                          product=first.product)
    fusionpbx.add_domain(TENANT, extensions=["101", "102"])
    fusionpbx.remove_extension(TENANT, "103")
    rows = fusionpbx.seed_cdrs(TENANT, 60, seed=5)
    source = CdrSource.objects.create(name="fusionpbx", kind=CdrSource.Kind.FUSIONPBX, server=fpbx_server)
    cdr_import = import_source(source_id=source.pk)
    assert cdr_import.inserted == len(rows), cdr_import.__dict__
    owner = {"101": first.pk, "102": second.pk}
    for row in rows:
        cdr = Cdr.objects.get(source=source, external_id=row["xml_cdr_uuid"])
        assert cdr.account == TENANT
        if row["direction"] == "outbound":
            assert cdr.service_id == owner[row["extension"]]
    source.last_imported_up_to = None
    source.save()
    assert import_source(source_id=source.pk).inserted == 0


def test_lesnet_calls_of_each_peer_file_go_to_their_service(lesnet_server, lesnet):
    service = voip_service("lesnet", lesnet_server, {"peer_id": PEER, "dids": ["12046664021"],
                                                     "cdr_url": lesnet.url_for("11330")}, status="active")
    source = CdrSource.objects.create(name="lesnet", kind=CdrSource.Kind.LESNET, server=lesnet_server,
                                      schedule=CdrSource.Schedule.DAILY)
    cdr_import = import_source(source_id=source.pk)
    assert cdr_import.inserted == lesnet.rows_per_day, cdr_import.__dict__
    matched = Cdr.objects.filter(source=source, service=service)
    assert matched.exists() and set(matched.values_list("account", flat=True)) == {PEER}
    assert import_source(source_id=source.pk).inserted == 0
