"""SPF, DKIM and DMARC of received mail, evaluated against the configured DNS source."""
