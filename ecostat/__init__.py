"""ecostat: validate reporting units' submissions and serve the city's annual figures."""

__version__ = "0.1.0"
