"""Telling people: alerts recorded in the outbox and delivered after publishing, redaction, the obligations audit."""
