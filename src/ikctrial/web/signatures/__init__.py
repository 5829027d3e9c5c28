"""21 CFR Part 11 electronic signatures, casebook sign-off, freeze and lock."""
