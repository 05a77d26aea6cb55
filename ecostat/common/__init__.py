"""Below every stage: the ECOSTAT_* environment, durable files, display of untrusted text, fault points, the time
budget, progress, safe spreadsheet cells.
"""
