"""The IKC cell product in the EDC: chain of identity and custody, QC and release, bedside."""
