"""Bandwidth's Numbers (Dashboard) API, XML over Basic auth: one module per resource family
(``orders``: number, port-in, disconnect and TN option orders; ``subscriptions``), and the
XML answers they share (``bodies``)."""
