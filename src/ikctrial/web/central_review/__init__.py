"""Blinded independent central review: a radiology reader's own reads, apart from the site's."""
