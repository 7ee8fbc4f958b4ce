"""What an import did: per WHMCS table, rows created, updated, unchanged and skipped; every skipped row and every
row imported with a change, with its reason; the logins that need a password reset; the secrets that could not
be decrypted; and the per-client totals that differ from WHMCS's. Printed as text and, with --report, saved as
JSON (docs/whmcs-migration.md, "The report")."""
import json
from collections import Counter, defaultdict

SHOWN_IDS = 10  # per reason in the text report; the JSON file has them all


class Report:
    def __init__(self, *, dry_run=False):
        self.dry_run = dry_run
        self.counts = defaultdict(Counter)  # table → {"created": n, "updated": n, "unchanged": n, "skipped": n}
        self.skipped = defaultdict(list)  # (table, reason) → [WHMCS ids]
        self.changed = defaultdict(list)  # (table, what was changed on the way in) → [WHMCS ids]
        self.password_resets = []  # e-mail addresses of logins that need a reset
        self.missing_secrets = defaultdict(list)  # table → [WHMCS ids] whose password was left empty
        self.differences = []  # dicts: client, what, whmcs, portal
        self.notes = []
        self.seconds = {}

    def count(self, table, outcome, n=1):
        self.counts[table][outcome] += n

    def skip(self, table, whmcs_id, reason):
        self.counts[table]["skipped"] += 1
        self.skipped[(table, reason)].append(whmcs_id)

    def change(self, table, whmcs_id, what):
        self.changed[(table, what)].append(whmcs_id)

    def secret_missing(self, table, whmcs_id):
        self.missing_secrets[table].append(whmcs_id)

    def as_dict(self):
        return {
            "dry_run": self.dry_run,
            "counts": {table: dict(counter) for table, counter in self.counts.items()},
            "skipped": [{"table": t, "reason": r, "whmcs_ids": ids} for (t, r), ids in self.skipped.items()],
            "imported_with_changes": [{"table": t, "change": w, "whmcs_ids": ids} for (t, w), ids in self.changed.items()],
            "password_resets_needed": self.password_resets,
            "passwords_not_decrypted": dict(self.missing_secrets),
            "total_differences": self.differences,
            "notes": self.notes,
            "seconds": self.seconds,
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.as_dict(), handle, indent=2, default=str)

    def text(self):
        lines = ["WHMCS import" + (" — DRY RUN: nothing was written" if self.dry_run else ""), ""]
        lines.append(f"{'WHMCS table':<34}{'created':>9}{'updated':>9}{'unchanged':>11}{'skipped':>9}")
        for table, counter in self.counts.items():
            lines.append(f"{table:<34}{counter['created']:>9}{counter['updated']:>9}{counter['unchanged']:>11}"
                         f"{counter['skipped']:>9}")
        sections = [
            ("Skipped rows (not imported)", self.skipped),
            ("Imported with a change", self.changed),
        ]
        for title, entries in sections:
            if entries:
                lines += ["", title + ":"]
                for (table, reason), ids in entries.items():
                    lines.append(f"  {table}: {reason} — {len(ids)} row(s): {_ids(ids)}")
        if self.password_resets:
            lines += ["", f"Logins that need a password reset ({len(self.password_resets)}; send with "
                          "`manage.py send_whmcs_password_resets`): " + _ids(self.password_resets)]
        if self.missing_secrets:
            lines += ["", "Passwords left empty (no --encryption-hash, or it does not decrypt them):"]
            lines += [f"  {table}: {len(ids)} row(s): {_ids(ids)}" for table, ids in self.missing_secrets.items()]
        lines += ["", "Totals per client (invoice totals, amounts paid, credit) against WHMCS: "
                  + (f"{len(self.differences)} difference(s)" if self.differences else "all equal")]
        for diff in self.differences[:50]:
            lines.append(f"  client {diff['client']}: {diff['what']} WHMCS {diff['whmcs']} portal {diff['portal']}")
        if len(self.differences) > 50:
            lines.append(f"  … {len(self.differences) - 50} more in the JSON report (--report FILE)")
        lines += [f"Note: {note}" for note in self.notes]
        if self.seconds:
            lines += ["", "Time per step: " + ", ".join(f"{step} {s:.1f}s" for step, s in self.seconds.items())]
        return "\n".join(lines)


def _ids(ids):
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    return shown + (f" … (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else "")
