"""CDR file parsers: each yields CdrRecord or CdrError per line (see base.py). FORMATS maps the format
names of `rate_cdrs --format` (and of the importers) to their parser classes."""
from .asterisk import AsteriskParser
from .base import (
    DEFAULT_INBOUND_CONTEXTS, EXTENSION_LEG, LOCAL, LOCAL_CALL, CdrError, CdrFileError, CdrParser, CdrRecord,
)
from .freeswitch import FreeSwitchParser
from .fusionpbx import FusionPbxParser
from .portal import PortalParser

FORMATS = {parser.name: parser for parser in (PortalParser, AsteriskParser, FreeSwitchParser, FusionPbxParser)}

__all__ = [
    "DEFAULT_INBOUND_CONTEXTS", "EXTENSION_LEG", "FORMATS", "LOCAL", "LOCAL_CALL", "AsteriskParser", "CdrError",
    "CdrFileError", "CdrParser", "CdrRecord", "FreeSwitchParser", "FusionPbxParser", "PortalParser",
]
