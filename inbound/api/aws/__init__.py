"""The AWS APIs of the embedded services on the HTTP port, beside SES's, so code written for
AWS reaches them with nothing but `endpoint_url` (docs/aws-endpoints.md)."""
