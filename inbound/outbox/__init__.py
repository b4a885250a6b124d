"""Outgoing mail queued in the store, and its relay to a smarthost."""
