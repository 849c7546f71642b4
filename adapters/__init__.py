"""Thin adapters from web frameworks to the :class:`bwhooks.Receiver`.

Each submodule imports only its own framework: ``bwhooks.adapters.wsgi`` and
``bwhooks.adapters.asgi`` need nothing beyond bwhooks itself.
"""
