"""Passwords kept from WHMCS: its bcrypt hashes ($2y$…), stored as `whmcs_bcrypt$<hash>`.

The hasher only checks passwords; it is never the preferred one, so Django re-hashes a password with the preferred
hasher on the first successful sign-in (check_password's setter) and the WHMCS hash is gone from then on."""
import bcrypt
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class WhmcsBcryptPasswordHasher(BasePasswordHasher):
    algorithm = "whmcs_bcrypt"

    def encode(self, password, salt):
        # New passwords never take this form: it exists for hashes carried over from WHMCS.
        raise NotImplementedError("WHMCS bcrypt hashes are imported, never made: use the preferred hasher.")

    def salt(self):
        return ""

    def decode(self, encoded):
        algorithm, whmcs_hash = encoded.split("$", 1)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": whmcs_hash, "salt": whmcs_hash[7:29]}

    def verify(self, password, encoded):
        whmcs_hash = self.decode(encoded)["hash"]
        # PHP's $2y$ is the same algorithm as $2b$; the bcrypt library accepts both prefixes.
        try:
            computed = bcrypt.hashpw(password.encode(), whmcs_hash.encode()).decode()
        except ValueError:  # not a bcrypt hash, or (bcrypt 5) a password longer than bcrypt's 72 bytes
            return False
        return constant_time_compare(computed, whmcs_hash)

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "hash": mask_hash(decoded["hash"])}

    def must_update(self, encoded):
        return True

    def harden_runtime(self, password, encoded):
        pass
