"""The sections of the trial report, one module per theme; each function turns analysis datasets
into a ``markup.Section`` (and, for the key results, plain data), saying in the section what could
not be estimated and why instead of failing."""
