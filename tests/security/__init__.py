"""Security tests (issue 5): authentication, isolation between accounts, caps, hostile text, logs."""
