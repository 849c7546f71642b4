"""The fake Bandwidth REST APIs, one class per API.

:class:`~bwhooks.testing.FakeBandwidthApi` (v1) and
:class:`~bwhooks.testing.FakeBandwidthApiV2` (Messaging v2, Voice v2, OAuth2) are the
facades: each holds the account's state and answers a request by handing it to the API
that serves its path. ``serving`` holds what both share (the request log, the route table,
JSON answers); ``v1`` and ``v2`` hold one module per API.
"""
