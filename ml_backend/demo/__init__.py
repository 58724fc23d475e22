"""Everything local that is not the backend's runtime: the demo and a Label Studio launcher.

`python -m ml_backend.demo` (`make demo`) runs the demo (`__main__.py`);
`ls_server` installs and starts a local Label Studio for it and for the
integration tests. A deployed backend imports nothing from here.
"""
