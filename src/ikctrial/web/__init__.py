"""The EDC: a Django project (sites, subjects, consent, randomization, audit) and its REST API."""
