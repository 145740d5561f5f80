"""Use cases. Services own transactions (explicit commit) and never read the request."""
