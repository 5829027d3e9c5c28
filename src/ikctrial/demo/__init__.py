"""The one-command demo: a simulated trial driven through the real services (``ikctrial demo``).

``setup`` prepares the trial (sites, staff with their roles, the statistician's randomization
list) through the same services the command line uses; ``driver`` applies the virtual patients of
the design issue day by day, each step by the user of the role that does it at a site.
"""
