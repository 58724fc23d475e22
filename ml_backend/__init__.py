"""ILLUME's Label Studio ML backend.

Label Studio specifics live here and nowhere else; the engine (``illume``)
does the machine learning. Shape follows label-studio-ml-backend's examples:
a model class with ``predict(tasks, context)`` and ``fit(event, data)``
(``model.py``), a Flask app speaking the protocol (``app.py``), and a WSGI
entry point for gunicorn (``wsgi.py``).
"""
