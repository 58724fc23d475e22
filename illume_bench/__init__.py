"""The paper's benchmark kit: the round loop without people, critics, metrics, data sets.

Nothing in the runtime engine (`illume/`) or the backend imports it.
"""
