"""Data queries: manual (data manager, monitor) and automatic (protocol edit checks)."""
