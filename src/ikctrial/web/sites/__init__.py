"""Sites, staff (users with one role each), site memberships and API tokens."""
