"""Vendor-neutral telephony: what the VoIP provider modules (provisioning/modules/<vendor>/) and the voip app's
rating and imports share. Pure code, no models and no database:

- calls: the directions of a call and the longest duration accepted;
- numbers.Normaliser: a dialled number → E.164 digits, internal or invalid (shared/voip-rating.md step 2);
- text: reading CDR and deck files line by line, and the field conversions they share;
- cdrs: CdrRecord / CdrError, what every CDR parser yields, and CdrParser, the streaming loop they share.

It sits on the provisioning floor so that the provider modules can read their CDRs without importing voip;
voip's rating core and CDR imports build on it (docs/voip-rating.md).
"""
