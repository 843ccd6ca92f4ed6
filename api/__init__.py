"""The Flask sync API (issue 3)."""
