"""gaia: one declarative file to run Python web apps."""

__version__ = "0.1.0"
