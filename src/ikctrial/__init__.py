"""ikctrial: an open-source platform that runs a randomized cell-therapy trial end to end.

The core sub-packages (``protocol``, ``clinical``, ``response``, ``stats``, ``design``) are plain
Python with numpy/scipy: no Django, no database and no I/O, so every rule can be imported in a
notebook and unit-tested. The ``web`` layer stores and shows data; the ``cli`` is a thin front door.
"""

__version__ = "0.1.0"
