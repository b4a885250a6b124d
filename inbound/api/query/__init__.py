"""The SES v1 Query protocol (API version 2010-12-01): codec, XML writer, routes and operations."""
