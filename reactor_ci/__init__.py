"""reactor-ci: CI/CD integration for Reactor."""

__version__ = "0.1.0"
