"""ILLUME: sample rationales from a vision-language model, keep the fitting ones, tune, repeat."""

__version__ = "0.1.0"
