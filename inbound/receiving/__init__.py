"""The receiving pipeline: SMTP edge, filters, matching, receipt, pipeline, engine, retries,
verdicts, and the receipt-state keeper."""
