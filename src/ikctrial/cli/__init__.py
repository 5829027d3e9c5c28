"""The ``ikctrial`` command line: a thin front door over the core and the services."""
