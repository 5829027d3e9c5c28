"""Informed consent: which version of the consent form was signed, when, and who obtained it."""
