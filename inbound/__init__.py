"""inbound: a local, faithful simulator of Amazon SES email receiving."""

__version__ = "0.1.0"
