"""Checking tables against the contract: recognising the form, the layout, cell parsing, table rules and cross-
period rules.
"""
