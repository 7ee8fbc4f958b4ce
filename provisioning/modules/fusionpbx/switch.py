"""What the FusionPBX module tells FreeSWITCH after it changed FusionPBX's database (docs/voip-providers.md
§4.2), mirroring what FusionPBX's own pages do after the same change:

- a gateway disabled: drop the cached sofia.conf (`configuration:sofia.conf:<switchname>`), then
  `sofia profile <profile> killgw <gateway_uuid>` stops it now;
- a gateway enabled: drop the cached sofia.conf, then `sofia profile <profile> rescan` starts the enabled
  gateways the profile does not run yet (FusionPBX serves sofia.conf from the database, through its cache);
- an extension switched: drop its cached directory entry (`directory:<extension>@<domain>`, and the same for
  its number alias), then `reloadxml`, which also empties FreeSWITCH's own cache of directory users, so the
  next registration or call looks the extension up in the database again.

FusionPBX's cache lives where its "cache method" setting says. `memcache`: FreeSWITCH's mod_memcache, cleared
with `memcache delete <key>`. `file` (the default; /var/cache/fusionpbx on the PBX, a disk the portal cannot
reach): cleared by FusionPBX's own Lua cache module run inside FreeSWITCH (`lua ~…cache.del(key)`), which
knows the file's name and location and notifies the other nodes of a cluster as FusionPBX does. `none`: the
installation caches nothing.
"""
import re

from provisioning.modules.base import ModuleError

CACHE_METHODS = ("file", "memcache", "none")
SAFE_KEY = re.compile(r"^[A-Za-z0-9@._:+-]{1,300}$")
# FusionPBX's Lua cache module, as FreeSWITCH's `lua` API runs a line starting with "~".
LUA_CACHE_DELETE = ('lua ~local cache = require "resources.functions.cache"; local ok, err = cache.del("{key}"); '
                    'stream:write(ok and "+OK" or ("-ERR " .. tostring(err)))')


def directory_keys(domain_name, extension):
    """FusionPBX's cache keys of an extension's directory entry (its number and its alias)."""
    names = [extension.extension] + ([extension.number_alias] if extension.number_alias else [])
    return [f"directory:{name}@{domain_name}" for name in names]


class Switch:
    def __init__(self, socket, cache_method):
        self.socket = socket
        self.cache_method = cache_method
        self.notes = []  # answers worth reporting

    def stop_gateways(self, gateways):
        self._forget_sofia_conf()
        for gateway in gateways:
            answer = self.socket.api(f"sofia profile {_word(gateway.profile, 'profile')} killgw {gateway.gateway_uuid}")
            if not answer.startswith("+OK"):  # not running (already stopped, or its profile is gone): nothing to stop
                self.notes.append(f"{gateway.gateway or gateway.gateway_uuid} was not running")

    def start_gateways(self, gateways):
        self._forget_sofia_conf()
        for profile in sorted({gateway.profile for gateway in gateways}):
            answer = self.socket.api(f"sofia profile {_word(profile, 'profile')} rescan")
            if _refused(answer):
                raise ModuleError(f"FreeSWITCH answered {answer!r} to `sofia profile {profile} rescan`, so the "
                                  f"gateway(s) of the SIP profile {profile!r} did not start. Correct the gateway's "
                                  "profile in FusionPBX (Accounts › Gateways), then unsuspend again.", permanent=True)

    def refresh_extensions(self, domain_name, extensions):
        for extension in extensions:
            for key in directory_keys(domain_name, extension):
                self.forget(key)
        if extensions:
            self.socket.api("reloadxml")

    def forget(self, key):
        """Delete one key of FusionPBX's cache (a key that is not there counts as deleted)."""
        if self.cache_method == "none":
            return
        if not SAFE_KEY.match(key):
            raise ModuleError(f"The cache key {key!r} has characters the portal does not send to FreeSWITCH.",
                              permanent=True)
        if self.cache_method == "memcache":
            command = f"memcache delete {key}"
        else:
            command = LUA_CACHE_DELETE.format(key=key)
        answer = self.socket.api(command)
        if _refused(answer) and answer.strip().upper() != "-ERR NOT FOUND":  # a key not there is deleted
            raise ModuleError(
                f"FreeSWITCH could not delete FusionPBX's cached {key} ({self.cache_method} cache): it answered "
                f"{answer[:200]!r}. Check the server's cache_method setting against FusionPBX's Default Settings › "
                "cache › method (docs/voip-providers.md §4.2).", permanent=True)

    def _forget_sofia_conf(self):
        if self.cache_method == "none":
            return
        hostname = self.socket.api("switchname")
        self.forget(f"configuration:sofia.conf:{hostname}")


def _refused(answer):
    return not answer.startswith("+OK")


def _word(value, what):
    if not re.match(r"^[A-Za-z0-9_.-]{1,100}$", value or ""):
        raise ModuleError(f"The gateway's SIP {what} {value!r} is not a name FreeSWITCH knows: correct it in FusionPBX.",
                          permanent=True)
    return value
