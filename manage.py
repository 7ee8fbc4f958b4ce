#!/usr/bin/env python
"""Django's command-line utility for the portal."""
import os
import sys

# File-to-file tools that use no model, no database and no other app: they run without loading the apps (every
# model, the admin's registrations, the Celery tasks), which is most of a start-up — a second of CPU, a tenth of
# rating a million calls (docs/benchmarks.md, *Offline rating*). Only the settings are read.
# tests/voip/test_rate_cdrs_command.py runs the command this way.
STANDALONE_COMMANDS = {"rate_cdrs": "voip.management.commands.rate_cdrs"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in STANDALONE_COMMANDS:
        from importlib import import_module

        command = import_module(STANDALONE_COMMANDS[sys.argv[1]]).Command()
        command.run_from_argv(sys.argv)
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
