"""The payments app's models, by topic; import them from here."""
