"""The trial report of a data cut-off: built from the analysis datasets, recorded like an export,
shown to the analysis team."""
