"""Test helpers that Headwater ships for its own tests and for projects built on it."""
