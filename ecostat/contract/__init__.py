"""The submission contract as code: forms, registries, rule catalogue, normalisation of values, obligations, the
operator's settings file, labels and the contract version.
"""
