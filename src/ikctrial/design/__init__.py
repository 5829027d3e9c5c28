"""Trial design: Schoenfeld events and sample size, simulated power, scenario grids, virtual trials.

Everything here is pure computation (numpy/scipy); the command line (``ikctrial design``) does the
file I/O. Time is in months throughout (domain.md 0: months = days / 30.4375).
"""
