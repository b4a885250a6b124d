"""The sending side of SES: its configuration (configuration sets, templates, account state)
and the Send* core."""
