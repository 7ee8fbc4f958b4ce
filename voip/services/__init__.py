"""Writes of the VoIP app (HackSoft style: views, admin and tasks call these):

- decks: rate decks from the database (cached in memory per package version) and CSV deck imports;
- matching: which service a call record belongs to (one dict per import);
- imports: the import pipeline (parse → normalise → match → rate → insert → debit prepaid calls), scheduled
  fetches, Vodia pushes and staff uploads;
- rerating: re-rate a service's calls of a period, posting the difference;
- unbilled: each client's unbilled postpaid usage, recomputed from its calls;
- invoicing: the monthly usage invoices of postpaid calls;
- alerts: the daily low-balance alert latch and its optional reminder;
- autosuspend: the five-minute suspension sweep (prepaid and postpaid rules).
"""
