"""CDR file parsers for uploads and `rate_cdrs`: each yields CdrRecord or CdrError per line
(provisioning.telephony.cdrs). FORMATS maps the format names of `rate_cdrs --format` (and of the importers) to
their parser classes: the portal's own CSV, Asterisk and FreeSWITCH are here; FusionPBX's export is read by its
provider module's parser (provisioning/modules/fusionpbx/cdrs.py), which the FusionPBX module uses too."""
from provisioning.modules.fusionpbx.cdrs import FusionPbxParser

from .asterisk import AsteriskParser
from .freeswitch import FreeSwitchParser
from .portal import PortalParser

FORMATS = {parser.name: parser for parser in (PortalParser, AsteriskParser, FreeSwitchParser, FusionPbxParser)}

__all__ = ["FORMATS", "AsteriskParser", "FreeSwitchParser", "PortalParser"]
