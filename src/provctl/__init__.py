"""provctl: administration tool for LLM provider connections."""

__version__ = "0.1.0"
