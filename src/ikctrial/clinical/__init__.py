"""Clinical scores and the eligibility engine: pure functions with exact decimal boundaries."""
