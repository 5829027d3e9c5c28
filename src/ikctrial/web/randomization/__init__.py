"""Concealed randomization: lists per stratum, race-safe allocation, and the allocation log."""
