"""Bandwidth's v1 REST API (Catapult), one module per resource family; the facade is
:class:`bwhooks.testing.FakeBandwidthApi`."""
