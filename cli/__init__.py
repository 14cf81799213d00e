"""The ``stylefarm`` command line: farm commands over HTTP, the local stack (``up``, ``demo``) and ``render``.

``main.py`` is the click group (commands are loaded lazily so ``stylefarm --help`` stays fast);
``client.py`` is the HTTP client the commands share, with its own small settings (``settings.py``:
API URL, key, chunk size, threads), so a client never reads the farm's server configuration.
Only ``render`` (and the local stack it starts) reaches into ``worker/``, and only when it runs.
"""
