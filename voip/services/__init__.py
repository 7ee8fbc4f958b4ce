"""Writes of the VoIP app (HackSoft style: views, admin and tasks call these):

- decks: rate decks from the database (cached in memory per package version) and CSV deck imports;
- matching: which service a call record belongs to (one dict per import);
- imports: the import pipeline (parse → normalise → match → rate → insert → debit), scheduled fetches,
  Vodia pushes and staff uploads;
- rerating: re-rate a service's calls of a period, posting the difference;
- alerts: the daily low-balance alert latch;
- autosuspend: the five-minute suspension sweep.
"""
