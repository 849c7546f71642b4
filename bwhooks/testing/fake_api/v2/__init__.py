"""Bandwidth's v2 REST APIs (Messaging v2, Voice v2) and their OAuth2 token endpoint, one
module per API; the facade is :class:`bwhooks.testing.FakeBandwidthApiV2`."""
