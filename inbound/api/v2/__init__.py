"""SES API v2 (`sesv2`, REST-JSON) under `/v2/email/...`, on the same services as v1."""
