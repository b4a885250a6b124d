"""Identities: pure rules, DNS checks, and the identity book that app.py starts."""
