"""A run wired from the stages: the steps of an ingest, the plain runner, parallel checking, the run artifact,
deployment.
"""
