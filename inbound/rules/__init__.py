"""Receipt rules as data: pure edits per SES operation, SES's validation, the rules.json codec."""
